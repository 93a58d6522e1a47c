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
 */
#define _GNU_SOURCE
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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

int pl_network_of(const rec_roots *roots, const char *rec_path, const store_call *call,
                  const cq_report *rep, store_figures *f, json_t **out, char *why, size_t n)
{
    *out = NULL;
    why[0] = 0;
    char paths[2][4200];
    int np = pl_capture_paths(rec_path, paths);
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
    if (fd < 0)
        return 0;
    const char *path = paths[k - 1];
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
    /* the answer within its bound (docs/network.md "Bounds"): a capture of many calls beside
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
    return 1;
}
