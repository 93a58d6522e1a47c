/*
 * network.c - a call's capture, when one lies beside its recording: the worker's child reads it
 * (src/net/), looks at the dialog of this call (net_match_call: its uniqueid, its ViciDial id
 * as the caller code, its start and length; else the investigation's own choice), holds it
 * against the analysed recording
 * (net_investigate: the same findings and cross-checks as POST /investigate) and hands back the
 * answer for the report's `network` key, and the network MOS for the store, named by its model.
 *
 * Beside the recording: the file the call was analysed from (the mix, or the inbound leg), with
 * its extension (and a ViciDial leg's -in, -out or -all) replaced by .pcap or .pcapng, in the
 * same folder (docs/pipeline.md). It is opened as the recordings are (rec_open: beneath the
 * configured folders, no symbolic link, a regular file). A recording fetched from a recording
 * server has no capture beside it.
 *
 * Else, in the HEP collector's folder (hep_dir, written by `callqa sip --hep`: one capture a
 * call, named hep-EPOCH-HASH.pcap by its first packet's arrival and its Call-ID's hash): the
 * captures whose call began where this call's start says (from HEP_BEFORE_SEC before it to
 * HEP_AFTER_SEC after it; the start is the call's, or its Asterisk uniqueid's epoch), the
 * nearest HEP_FILES_MAX of them, are read as one capture, each packet at its arrival (the
 * collector's clock: a time an agent puts in its packets never picks the stored call its
 * capture joins), and net_match_call picks the call's dialog among them by the same rule as in
 * a capture beside it; only a match by an identifier or by time counts (the rule "the
 * capture's only call" says nothing of a folder of calls). The answer is then that dialog's
 * own capture, the file of its Call-ID's hash.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../live/live.h"
#include "../net/net.h"
#include "pipeline.h"
#include "../store/store_calls.h"
#include "../store/store_retain.h"

int pl_rec_base(const char *rec, bool legs, char *base, size_t n)
{
    return store_file_base(rec, legs, base, n); /* the store's list names the files of a call */
}

/* The capture paths to try for a recording: base.pcap and base.pcapng. */
int pl_capture_paths(const char *rec, char out[2][4200])
{
    if (store_file_beside(rec, STORE_FILE_CAPTURE, out[0], sizeof(out[0])) != 0 ||
        store_file_beside(rec, STORE_FILE_CAPTURE_NG, out[1], sizeof(out[1])) != 0)
        return 0;
    return 2;
}

/* a file's name without its folders: what a report names (it is stored and answered) */
static const char *base_of(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

/* ---- the HEP collector's folder ---------------------------------------------------------- */

#define HEP_BEFORE_SEC 65.0 /* net_match_call's window (60 s, 5 s) and a margin for the clocks */
#define HEP_AFTER_SEC 10.0
#define HEP_FILES_MAX 64
#define HEP_FILE_MAX (16u << 20)
#define HEP_ALL_MAX (64u << 20)

typedef struct hep_file {
    char name[96];
    long long epoch;
    uint64_t hash;
    double dist;
} hep_file;

/* "hep-EPOCH-HASH.pcap" or "hep-EPOCH-HASH-N.pcap" */
static bool hep_name(const char *s, long long *epoch, uint64_t *hash)
{
    char *end;
    if (strncmp(s, "hep-", 4) || !isdigit((unsigned char)s[4]))
        return false;
    *epoch = strtoll(s + 4, &end, 10);
    if (*end != '-' || strspn(end + 1, "0123456789abcdef") != 16)
        return false;
    *hash = strtoull(end + 1, NULL, 16);
    const char *rest = end + 17;
    if (*rest == '-') {
        rest++;
        size_t d = strspn(rest, "0123456789");
        if (!d || d > 3)
            return false;
        rest += d;
    }
    return !strcmp(rest, ".pcap");
}

static int by_dist(const void *a, const void *b)
{
    double x = ((const hep_file *)a)->dist, y = ((const hep_file *)b)->dist;
    return x < y ? -1 : x > y;
}

/* The call's start: its own, or its uniqueid's epoch ("1700000000.42"); < 0 unknown. */
static double call_start(const store_call *call)
{
    if (call->call_epoch >= 0)
        return call->call_epoch;
    const char *u = call->uniqueid;
    size_t d = strspn(u, "0123456789");
    if (d >= 9 && d <= 11 && (u[d] == '.' || !u[d]))
        return (double)strtoll(u, NULL, 10);
    return -1;
}

/* One of our captures appended to buf (its records after the first file's header): false when
 * it is not one (another header) or past the bounds. */
static bool hep_append(int dfd, const char *name, uint8_t **buf, size_t *len, size_t *cap)
{
    int fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size < 24 ||
        (size_t)st.st_size > HEP_FILE_MAX || *len + (size_t)st.st_size > HEP_ALL_MAX) {
        if (fd >= 0)
            close(fd);
        return false;
    }
    size_t need = *len + (size_t)st.st_size;
    if (need > *cap) {
        uint8_t *nb = realloc(*buf, need);
        if (!nb) {
            close(fd);
            return false;
        }
        *buf = nb, *cap = need;
    }
    uint8_t *at = *buf + *len;
    size_t got = 0;
    while (got < (size_t)st.st_size) {
        ssize_t r = read(fd, at + got, (size_t)st.st_size - got);
        if (r <= 0)
            break;
        got += (size_t)r;
    }
    close(fd);
    if (got != (size_t)st.st_size)
        return false;
    if (*len == 0) {
        *len = got;
        return true;
    }
    if (memcmp(at, *buf, 24)) /* another kind of pcap: not the collector's */
        return false;
    memmove(at, at + 24, got - 24);
    *len += got - 24;
    return true;
}

/* The call's capture in dir: 1 with *fd (the file of its dialog) and name; 0 none; -1 why. */
static int hep_lookup(const char *dir, const store_call *call, int *fd, char *name, size_t name_n,
                      net_call_match *m, char *why, size_t n)
{
    double t = call_start(call);
    if (t < 0)
        return 0;
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    int dfd2 = dfd >= 0 ? dup(dfd) : -1;
    DIR *d = dfd2 >= 0 ? fdopendir(dfd2) : NULL;
    if (!d) {
        snprintf(why, n, "hep_dir: %s", strerror(errno));
        if (dfd2 >= 0)
            close(dfd2);
        if (dfd >= 0)
            close(dfd);
        return -1;
    }
    hep_file *files = NULL;
    size_t nf = 0, cap = 0;
    for (struct dirent *e; (e = readdir(d));) {
        hep_file h;
        if (!hep_name(e->d_name, &h.epoch, &h.hash) || (double)h.epoch < t - HEP_BEFORE_SEC ||
            (double)h.epoch > t + HEP_AFTER_SEC || strlen(e->d_name) >= sizeof(h.name))
            continue;
        if (nf == cap) {
            size_t nc = cap ? cap * 2 : 16;
            hep_file *nfp = nc <= 1u << 20 ? realloc(files, nc * sizeof(*files)) : NULL;
            if (!nfp)
                break;
            files = nfp, cap = nc;
        }
        snprintf(h.name, sizeof(h.name), "%s", e->d_name);
        h.dist = fabs((double)h.epoch - t);
        files[nf++] = h;
    }
    closedir(d);
    if (nf > 1)
        qsort(files, nf, sizeof(*files), by_dist);
    if (nf > HEP_FILES_MAX)
        nf = HEP_FILES_MAX;
    uint8_t *buf = NULL;
    size_t len = 0, bcap = 0;
    for (size_t i = 0; i < nf; i++)
        (void)hep_append(dfd, files[i].name, &buf, &len, &bcap);
    int rc = 0;
    net_capture *c = NULL;
    char err[300];
    net_limits lim = net_default_limits();
    lim.hep_arrival = true; /* the collector's clock, never the agents' */
    if (len && net_capture_read_mem(buf, len, &lim, &c, err, sizeof(err)) == 0) {
        net_call_hint hint = {.uniqueid = call->uniqueid,
                              .caller_code = call->vicidial_id,
                              .epoch = call->call_epoch,
                              .length_sec = call->length_sec};
        if (net_match_call(c, &hint, m) && strcmp(m->rule, "only_call") != 0) {
            const char *cid = c->dialogs[m->dialog].call_id;
            uint64_t h = lv_hep_call_hash(cid, strlen(cid));
            for (size_t i = 0; i < nf && rc == 0; i++)
                if (files[i].hash == h) {
                    *fd =
                        openat(dfd, files[i].name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
                    snprintf(name, name_n, "%s", files[i].name);
                    rc = *fd >= 0 ? 1 : 0;
                }
        }
        net_capture_free(c);
    }
    free(buf);
    free(files);
    close(dfd);
    return rc;
}

int pl_hep_capture_path(const char *hep_dir, const char *name, char *out, size_t n)
{
    long long epoch;
    uint64_t hash;
    if (!hep_dir || !hep_dir[0] || !name || !hep_name(name, &epoch, &hash))
        return -1;
    int w = snprintf(out, n, "%s/%s", hep_dir, name);
    return w > 0 && (size_t)w < n ? 0 : -1;
}

/* What the matched dialog says of the route (store_figures: has_net, has_sip): the worst stream's
 * loss and the largest mean jitter, the post-dial delay, the far end (the carrier's side: the
 * callee of a call the dialer placed, the caller of an inbound one), its User-Agent (a request
 * of its own) or Server (a response of its own) header, and the codec of the answer. */
static void net_route_figures(const net_capture *c, size_t dialog, const store_call *call,
                              store_figures *f)
{
    if (dialog == SIZE_MAX)
        return;
    const net_sip_dialog *d = &c->dialogs[dialog];
    f->net_loss_pct = NAN;
    f->net_jitter_ms = NAN;
    for (size_t i = 0; i < d->n_streams; i++) {
        const net_rtp_stream *s = &c->streams[d->streams[i]];
        if (s->expected > 0) {
            double loss = s->lost > 0 ? 100.0 * (double)s->lost / (double)s->expected : 0;
            if (!f->has_net || isnan(f->net_loss_pct) || loss > f->net_loss_pct)
                f->net_loss_pct = loss;
            f->has_net = true;
        }
        if (s->has_jitter && (isnan(f->net_jitter_ms) || s->mean_jitter_ms > f->net_jitter_ms))
            f->net_jitter_ms = s->mean_jitter_ms;
    }
    f->has_sip = true;
    f->sip_pdd_ms = d->pdd_sec > 0 ? d->pdd_sec * 1000 : NAN;
    bool inbound = !strcmp(call->direction, "inbound");
    const net_addr *far = inbound ? &d->caller : &d->callee;
    char ab[64];
    snprintf(f->sip_trunk, sizeof(f->sip_trunk), "%s", net_addr_str(far, ab, sizeof(ab)));
    /* the far end's header: its own requests' User-Agent, else its responses' Server */
    f->sip_user_agent[0] = 0;
    for (size_t i = 0; i < d->n_msgs && !f->sip_user_agent[0]; i++) {
        const net_sip_msg *m = &c->sip[d->msgs[i]];
        if (m->src.family != far->family ||
            memcmp(m->src.a, far->a, far->family == 4 ? 4 : sizeof(far->a)))
            continue;
        char hb[256];
        const char *h =
            m->user_agent ? m->user_agent : net_sip_header(m, "Server", 0, hb, sizeof(hb));
        if (h)
            snprintf(f->sip_user_agent, sizeof(f->sip_user_agent), "%s", h);
    }
    const net_sdp *ans = d->answer.present ? &d->answer : &d->offer;
    snprintf(f->sip_codec, sizeof(f->sip_codec), "%s",
             ans->present && ans->n_pts > 0 ? ans->names[0] : "");
}

int pl_network_of(const rec_roots *roots, const char *rec_path, const char *hep_dir,
                  const store_call *call, const cq_report *rep, store_figures *f, json_t **out,
                  char *hep_used, size_t hu_n, char *why, size_t n)
{
    *out = NULL;
    why[0] = 0;
    if (hu_n)
        hep_used[0] = 0;
    char paths[2][4200];
    int np = rec_path ? pl_capture_paths(rec_path, paths) : 0;
    int fd = -1, k = 0;
    for (; k < np && fd < 0; k++) {
        if (access(paths[k], F_OK) != 0)
            continue;
        char w[300];
        fd = rec_open(roots, paths[k], w, sizeof(w));
        if (fd < 0) {
            snprintf(why, n, "%s: %s", base_of(paths[k]), w); /* stored: no server path */
            return -1;
        }
    }
    const char *path = fd >= 0 ? paths[k - 1] : NULL;
    char hep_name_buf[96];
    net_call_match hm;
    bool from_hep = false;
    if (fd < 0 && hep_dir && hep_dir[0]) {
        int h = hep_lookup(hep_dir, call, &fd, hep_name_buf, sizeof(hep_name_buf), &hm, why, n);
        if (h < 0)
            return -1;
        from_hep = h > 0;
        path = hep_name_buf;
    }
    if (fd < 0)
        return 0;
    char proc[40], err[600];
    snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
    net_capture *c = NULL;
    int rc = net_read_any_path(proc, NULL, &c, err, sizeof(err));
    close(fd);
    if (rc != 0) {
        snprintf(why, n, "%s: %s", base_of(path), err);
        return -1;
    }
    /* the stored call's dialog, by its identifiers and times (match.c); else the investigation's
     * own choice */
    net_call_hint hint = {.uniqueid = call->uniqueid,
                          .caller_code = call->vicidial_id,
                          .epoch = call->call_epoch,
                          .length_sec = call->length_sec};
    net_call_match m;
    net_match_call(c, &hint, &m);
    if (from_hep) { /* the match made among the folder's calls, this file's dialog */
        size_t mine = m.dialog;
        m = hm;
        m.dialog = mine;
    }
    /* the answer within its bound (docs/network/bounds.md "Bounds"): a capture of many calls beside
     * a recording is cut to what fits, the call's dialog first */
    size_t looked = m.dialog != SIZE_MAX ? m.dialog : net_primary_dialog(c);
    /* the network MOS of the call: the lowest of its dialog's streams, behind the adaptive
     * buffer (as rtp_low_mos reads it) */
    double lowest = NAN;
    if (looked != SIZE_MAX) {
        const net_sip_dialog *d = &c->dialogs[looked];
        for (size_t i = 0; i < d->n_streams; i++) {
            const net_rtp_stream *s = &c->streams[d->streams[i]];
            if (s->has_mos && (isnan(lowest) || s->mos[2] < lowest))
                lowest = s->mos[2];
        }
    }
    net_route_figures(c, looked, call, f);
    json_t *o = NULL; /* c is freed there */
    if (net_investigation_answer(c, looked, rep, NULL, NULL, NET_ANSWER_MAX, &o) != 0) {
        snprintf(why, n, "out of memory");
        return -1;
    }
    if (m.dialog != SIZE_MAX) /* the dialog matched is the one looked at: its index in the answer */
        m.dialog = (size_t)json_integer_value(json_object_get(o, "dialog"));
    const char *slash = strrchr(path, '/');
    json_object_set_new(o, "capture", json_string(slash ? slash + 1 : path));
    json_object_set_new(o, "warning", err[0] ? net_json_wire(err) : json_null());
    json_object_set_new(o, "match", net_call_match_json(&m));
    f->net_mos = lowest;
    snprintf(f->net_mos_model, sizeof(f->net_mos_model), "%s",
             isnan(lowest) ? "" : "ITU-T G.107 E-model");
    json_object_set_new(
        o, "network_mos",
        isnan(lowest) ? json_null()
                      : json_pack("{s:s,s:f}", "model", "ITU-T G.107 E-model", "mos", lowest));
    *out = o;
    if (from_hep && hu_n) /* the caller records it with the call (store_file_record) */
        snprintf(hep_used, hu_n, "%s", hep_name_buf);
    return 1;
}
