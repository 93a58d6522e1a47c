/*
 * svc_routes.h - the route table (svc_routes.c): every route declared once (method, path, auth,
 * role, scope, audit action, handlers), the server's dispatch over it, and /openapi.json checked
 * against it.
 */
#ifndef CQ_SVC_ROUTES_H
#define CQ_SVC_ROUTES_H

#include "svc_http.h"

/* The route for method and path; NULL, with *path_known set when another method has it. A
 * route's path parameter ({id}, one segment) is at *param, *param_len bytes, inside path. */
const svc_route *svc_route_find(const char *method, const char *path, const char **param,
                                size_t *param_len, bool *path_known);
/* The routes, in order, NULL-terminated by a route with method NULL. */
const svc_route *svc_route_table(void);
/* /openapi.json: docs/openapi.json as the build compiled it in, with this version, malloc'd; NULL
 * (with msg) when it is not valid JSON, or when it and the route table differ: a route it does
 * not document, an operation no route has, a route whose auth or role (x-callqa-role: "none",
 * "agent", "analyst", "supervisor", "admin") it gives otherwise, or a route without its role. */
char *svc_openapi(char *msg, size_t msgsz);
/* The same check of another document (text[0..len)): `callqa serve --check-openapi FILE`. */
char *svc_openapi_check(const char *text, size_t len, char *msg, size_t msgsz);

#endif /* CQ_SVC_ROUTES_H */
