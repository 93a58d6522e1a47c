/*
 * db_pg_oid.h - PostgreSQL's type OIDs (pg_type.h; stable across versions), for the store's two
 * libpq clients: db_pg.c (the store's backend) and store_ro_pg.c (the read-only queries of /ask).
 */
#ifndef CQ_DB_PG_OID_H
#define CQ_DB_PG_OID_H

enum {
    DB_PG_OID_BOOL = 16,
    DB_PG_OID_BYTEA = 17,
    DB_PG_OID_INT8 = 20,
    DB_PG_OID_INT2 = 21,
    DB_PG_OID_INT4 = 23,
    DB_PG_OID_TEXT = 25,
    DB_PG_OID_OID = 26,
    DB_PG_OID_FLOAT4 = 700,
    DB_PG_OID_FLOAT8 = 701,
    DB_PG_OID_NUMERIC = 1700
};

#endif /* CQ_DB_PG_OID_H */
