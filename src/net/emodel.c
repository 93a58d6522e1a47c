/*
 * emodel.c - the ITU-T G.107 (06/2015) E-model: the transmission rating R from the planning
 * parameters, and the MOS it predicts (Annex B). Section 3 gives every formula below; the
 * default parameters (Table 3) give R = 93.2. Equipment impairment Ie and packet-loss
 * robustness Bpl per codec are ITU-T G.113 Appendix I's planning values (net_codec_planning).
 * Pure arithmetic; docs/network.md writes the formulas out with their references.
 */
#define _GNU_SOURCE
#include <math.h>
#include <string.h>
#include <strings.h>

#include "net_int.h"

net_emodel net_emodel_defaults(void)
{
    /* G.107 Table 3: the default values */
    return (net_emodel){.slr = 8,
                        .rlr = 2,
                        .stmr = 15,
                        .lstr = 18,
                        .ds = 3,
                        .dr = 3,
                        .telr = 65,
                        .wepl = 110,
                        .t = 0,
                        .ta = 0,
                        .tr = 0,
                        .ppl = 0,
                        .burst_r = 1,
                        .ie = 0,
                        .bpl = 4.3,
                        .nc = -70,
                        .nfor = -64,
                        .ps = 35,
                        .pr = 35,
                        .a = 0,
                        .qdu = 1};
}

static double p10(double x)
{
    return pow(10.0, x / 10.0);
}

double net_emodel_r(const net_emodel *e)
{
    /* 3.3: the basic signal-to-noise ratio Ro */
    double olr = e->slr + e->rlr;
    double nos = e->ps - e->slr - e->ds - 100 + 0.004 * pow(e->ps - olr - e->ds - 14, 2);
    double pre = e->pr + 10 * log10(1 + p10(10 - e->lstr));
    double nor = e->rlr - 121 + pre + 0.008 * pow(pre - 35, 2);
    double nfo = e->nfor + e->rlr;
    double no = 10 * log10(p10(e->nc) + p10(nos) + p10(nor) + p10(nfo));
    double ro = 15 - 1.5 * (e->slr + no);
    /* 3.4: the simultaneous impairment factor Is */
    double xolr = olr + 0.2 * (64 + no - e->rlr);
    double iolr = 20 * (pow(1 + pow(xolr / 8, 8), 1.0 / 8) - xolr / 8);
    double stmro = -10 * log10(p10(-e->stmr) + exp(-e->t / 4) * p10(-e->telr));
    double ist = 12 * pow(1 + pow((stmro - 13) / 6, 8), 1.0 / 8) -
                 28 * pow(1 + pow((stmro + 1) / 19.4, 35), 1.0 / 35) -
                 13 * pow(1 + pow((stmro - 3) / 33, 13), 1.0 / 13) + 29;
    double q = 37 - 15 * log10(e->qdu);
    double g = 1.07 + 0.258 * q + 0.0602 * q * q;
    double y = (ro - 100) / 15 + 46 / 8.4 - g / 9;
    double z = 46.0 / 30 - g / 40;
    double iq = 15 * log10(1 + pow(10, y) + pow(10, z));
    double is = iolr + ist + iq;
    /* 3.5: the delay impairment factor Id */
    double terv =
        e->telr - 40 * log10((1 + e->t / 10) / (1 + e->t / 150)) + 6 * exp(-0.3 * e->t * e->t);
    if (e->stmr < 9)
        terv += ist / 2;
    double re = 80 + 2.5 * (terv - 14);
    double roe = -1.5 * (no - e->rlr);
    double idte = ((roe - re) / 2 + sqrt(pow(roe - re, 2) / 4 + 100) - 1) * (1 - exp(-e->t));
    if (e->stmr > 20) /* 3.5: with a loud sidetone, Idtes replaces Idte */
        idte = sqrt(idte * idte + ist * ist);
    double rle = 10.5 * (e->wepl + 7) * pow(e->tr + 1, -0.25);
    double idle = (ro - rle) / 2 + sqrt(pow(ro - rle, 2) / 4 + 169);
    double idd = 0;
    if (e->ta > 100) {
        double x = log10(e->ta / 100) / log10(2);
        idd = 25 * (pow(1 + pow(x, 6), 1.0 / 6) - 3 * pow(1 + pow(x / 3, 6), 1.0 / 6) + 2);
    }
    double id = idte + idle + idd;
    /* 3.6: the effective equipment impairment factor, random (BurstR 1) or bursty loss */
    double ie_eff = e->ie + (95 - e->ie) * e->ppl / (e->ppl / e->burst_r + e->bpl);
    return ro - is - id - ie_eff + e->a;
}

double net_emodel_mos(double r)
{
    /* G.107 Annex B, (B-4); the cubic dips below 1 for R under 6.5, where a MOS on the 1-5
     * scale cannot go: it is held at 1 there */
    if (r <= 0)
        return 1.0;
    if (r >= 100)
        return 4.5;
    double mos = 1 + 0.035 * r + r * (r - 60) * (100 - r) * 7e-6;
    return mos < 1 ? 1.0 : mos;
}

/* ITU-T G.113 (11/2007) Appendix I: Ie from Table I.1, Bpl from Table I.3 (provisional planning
 * values; G.711 with the packet loss concealment of its Appendix I). A codec whose Bpl the table
 * does not give has bpl 0: the configured Bpl stands in. algo_ms: the codec's frame and
 * look-ahead (G.711 0.125 ms, G.729 10 + 5, G.723.1 30 + 7.5, GSM 06.10 20). */
static const net_codec_plan k_plans[] = {
    {"PCMU", 0, 25.1, 0.125}, {"PCMA", 0, 25.1, 0.125}, {"G711", 0, 25.1, 0.125},
    {"G729", 11, 19.0, 15},   {"G723", 15, 16.1, 37.5}, {"GSM", 20, 0, 20},
};

bool net_codec_planning(const char *name, net_codec_plan *out)
{
    for (size_t i = 0; i < sizeof(k_plans) / sizeof(k_plans[0]); i++)
        if (!strncasecmp(name, k_plans[i].name, strlen(k_plans[i].name))) {
            *out = k_plans[i];
            return true;
        }
    return false;
}
