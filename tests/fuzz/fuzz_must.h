/*
 * fuzz_must.h - an oracle for the harnesses that holds under NDEBUG too (the replays run in
 * the Release build, where assert is gone): a failed MUST traps, as a crash libFuzzer reports.
 */
#ifndef CQ_FUZZ_MUST_H
#define CQ_FUZZ_MUST_H

#define MUST(c)                                                                                    \
    do {                                                                                           \
        if (!(c))                                                                                  \
            __builtin_trap();                                                                      \
    } while (0)

#endif /* CQ_FUZZ_MUST_H */
