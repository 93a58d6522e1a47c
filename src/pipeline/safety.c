/*
 * safety.c - what keeps the worker from hurting live calls on the dialer it shares: the idle
 * CPU scheduling class (it runs only when nothing else wants the CPU; nice 19 where SCHED_IDLE
 * is refused), the idle I/O class, a CPU set, the load average it pauses above, and the
 * processing window.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "pipeline.h"

/* ioprio_set(2) has no glibc wrapper: its constants, from linux/ioprio.h */
#define IOPRIO_WHO_PROCESS 1
#define IOPRIO_CLASS_IDLE 3
#define IOPRIO_CLASS_SHIFT 13

/* "0-1,3" into a CPU set. 0, or -1 when malformed. */
static int parse_cpus(const char *s, cpu_set_t *set)
{
    CPU_ZERO(set);
    const char *p = s;
    while (*p) {
        char *end;
        errno = 0;
        long a = strtol(p, &end, 10), b = a;
        if (errno || end == p || a < 0 || a >= CPU_SETSIZE)
            return -1;
        p = end;
        if (*p == '-') {
            b = strtol(p + 1, &end, 10);
            if (end == p + 1 || b < a || b >= CPU_SETSIZE)
                return -1;
            p = end;
        }
        for (long c = a; c <= b; c++)
            CPU_SET((int)c, set);
        if (*p == ',')
            p++;
        else if (*p)
            return -1;
    }
    return CPU_COUNT(set) ? 0 : -1;
}

int pl_safety_apply(bool idle, const char *cpus, char *note, size_t n)
{
    note[0] = 0;
    size_t k = 0;
    if (idle) {
        struct sched_param sp = {.sched_priority = 0};
        if (sched_setscheduler(0, SCHED_IDLE, &sp) == 0) {
            k += (size_t)snprintf(note + k, n - k, "SCHED_IDLE");
        } else if (setpriority(PRIO_PROCESS, 0, 19) == 0) {
            k += (size_t)snprintf(note + k, n - k, "nice 19 (SCHED_IDLE refused: %s)",
                                  strerror(errno));
        } else {
            snprintf(note, n, "cannot lower the CPU priority: %s", strerror(errno));
            return -1;
        }
        if (syscall(SYS_ioprio_set, IOPRIO_WHO_PROCESS, 0,
                    IOPRIO_CLASS_IDLE << IOPRIO_CLASS_SHIFT) == 0)
            k += (size_t)snprintf(note + k, n - k, ", I/O idle");
        else
            k += (size_t)snprintf(note + k, n - k, ", I/O class unchanged (%s)", strerror(errno));
    }
    if (cpus && *cpus) {
        cpu_set_t set;
        if (parse_cpus(cpus, &set) != 0) {
            snprintf(note, n, "--cpus '%s': expected a CPU list such as 0-1,3", cpus);
            return -1;
        }
        if (sched_setaffinity(0, sizeof(set), &set) != 0) {
            snprintf(note, n, "cannot run on CPUs %s: %s", cpus, strerror(errno));
            return -1;
        }
        snprintf(note + k, n - k, "%sCPUs %s", k ? ", " : "", cpus);
    }
    return 0;
}

double pl_load_avg(void)
{
    const char *path = cfg_test_hook("LOADAVG_FILE");
    FILE *f = fopen(path && *path ? path : "/proc/loadavg", "r");
    double l = 0;
    if (f) {
        if (fscanf(f, "%lf", &l) != 1)
            l = 0;
        fclose(f);
    }
    return l;
}

/* "HH:MM" as minutes of the day; -1 when malformed. */
static int minutes(const char *s)
{
    int h, m;
    char tail;
    if (sscanf(s, "%2d:%2d%c", &h, &m, &tail) < 2 || h < 0 || h > 23 || m < 0 || m > 59)
        return -1;
    return h * 60 + m;
}

int pl_in_window(const char *window, const char *tz, time_t when)
{
    if (!window || !*window)
        return 1;
    const char *dash = strchr(window, '-');
    char a[8];
    if (!dash || dash - window > 5)
        return -1;
    snprintf(a, sizeof(a), "%.*s", (int)(dash - window), window);
    int from = minutes(a), to = minutes(dash + 1);
    if (from < 0 || to < 0 || strlen(dash + 1) != 5)
        return -1;
    /* the time of day in the zone (TZ is this process's own: the worker is single-threaded) */
    char *old = getenv("TZ") ? strdup(getenv("TZ")) : NULL;
    if (tz && *tz)
        setenv("TZ", tz, 1);
    tzset();
    struct tm lt;
    localtime_r(&when, &lt);
    if (tz && *tz) {
        if (old)
            setenv("TZ", old, 1);
        else
            unsetenv("TZ");
        tzset();
    }
    free(old);
    int now = lt.tm_hour * 60 + lt.tm_min;
    return from <= to ? (now >= from && now < to) : (now >= from || now < to);
}
