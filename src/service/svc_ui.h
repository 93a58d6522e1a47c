/*
 * svc_ui.h - the dashboard (svc_ui.c): its files, embedded at build time, and the session routes
 * (the cookie itself is svc_session.h's).
 */
#ifndef CQ_SVC_UI_H
#define CQ_SVC_UI_H

#include "svc_http.h"

/* One file of the dashboard, embedded at build time (cmake/embed_ui.cmake writes the table from
 * ui/build.mjs's output). */
typedef struct svc_ui_asset {
    const char *name;          /* "index.html", "app.js", "app.css" */
    const char *ctype;         /* its Content-Type */
    const unsigned char *data; /* len bytes (static) */
    size_t len;
    const char *etag; /* "\"<32 hex digits of its SHA-256>\"" */
} svc_ui_asset;
/* The embedded files, *n of them; NULL and 0 in a build without the dashboard (CQ_DASHBOARD
 * OFF). Generated: svc_ui_assets.c in the build directory. */
const svc_ui_asset *svc_ui_assets(size_t *n);
/* GET / (index.html; without the dashboard, a plain page that says so) and GET /assets/{name}
 * (app.js, app.css; others 404): ETag, If-None-Match (304), Cache-Control: no-cache. */
enum MHD_Result svc_ui_index(req *r, const char *data, size_t *size);
enum MHD_Result svc_ui_asset_get(req *r, const char *data, size_t *size);

/* GET, POST, DELETE /api/session (docs/service.md#sessions). */
enum MHD_Result svc_session_get(req *r, const char *data, size_t *size);
enum MHD_Result svc_session_post_start(req *r);
enum MHD_Result svc_session_post(req *r, const char *data, size_t *size);
enum MHD_Result svc_session_delete(req *r, const char *data, size_t *size);

#endif /* CQ_SVC_UI_H */
