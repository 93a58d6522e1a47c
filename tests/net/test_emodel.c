/*
 * test_emodel.c - the E-model (src/net/emodel.c) against published ITU-T values: G.107's default
 * parameters give R = 93.2 (G.107 (06/2015), section 7.3 and Table 3) and MOS 4.41 (Annex B);
 * the MOS mapping's end points; and the effective equipment impairment Ie,eff of G.107 (3.6)
 * with G.113 Appendix I's planning values at stated loss rates (G.711 with concealment: Bpl
 * 25.1; G.729A: Ie 11, Bpl 19.0), each worked out here from the published formula.
 */
#include "testutil.h"

#include "../../src/net/net.h"

static void test_defaults(void **state)
{
    (void)state;
    net_emodel e = net_emodel_defaults();
    double r = net_emodel_r(&e);
    print_message("R with G.107's defaults: %.4f\n", r);
    assert_true(fabs(r - 93.2) < 0.05);
    assert_true(fabs(net_emodel_mos(r) - 4.41) < 0.005);
}

static void test_mos_mapping(void **state)
{
    (void)state;
    assert_true(net_emodel_mos(-5) == 1.0);
    assert_true(net_emodel_mos(0) == 1.0);
    assert_true(net_emodel_mos(100) == 4.5);
    assert_true(fabs(net_emodel_mos(50) - (1 + 1.75 + 50 * -10 * 50 * 7e-6)) < 1e-12);
    /* the cubic dips under 1 below R 6.5: held at 1; rising from there */
    for (double r = 0; r < 7; r += 0.5)
        assert_true(net_emodel_mos(r) >= 1.0);
    for (double r = 8; r < 100; r += 1)
        assert_true(net_emodel_mos(r) > net_emodel_mos(r - 1));
}

/* R drops by exactly Ie,eff = Ie + (95 - Ie) * Ppl / (Ppl / BurstR + Bpl) */
static double drop(const char *codec, double ppl, double burst)
{
    net_codec_plan p;
    assert_true(net_codec_planning(codec, &p));
    net_emodel e = net_emodel_defaults();
    double r0 = net_emodel_r(&e);
    e.ie = p.ie, e.bpl = p.bpl, e.ppl = ppl, e.burst_r = burst;
    return r0 - net_emodel_r(&e);
}

static void test_loss(void **state)
{
    (void)state;
    /* G.711 + PLC (Ie 0, Bpl 25.1): 1 % -> 95/26.1 = 3.640; 2 % -> 190/27.1 = 7.011;
     * 5 % -> 475/30.1 = 15.781 */
    assert_true(fabs(drop("PCMU", 1, 1) - 3.6398) < 1e-3);
    assert_true(fabs(drop("PCMA", 2, 1) - 7.0111) < 1e-3);
    assert_true(fabs(drop("PCMU", 5, 1) - 15.7807) < 1e-3);
    /* G.729A (Ie 11, Bpl 19.0): 0 % -> 11; 2 % -> 11 + 84 * 2 / 21 = 19.0 */
    assert_true(fabs(drop("G729", 0, 1) - 11.0) < 1e-6);
    assert_true(fabs(drop("G729", 2, 1) - 19.0) < 1e-6);
    /* bursty loss costs more: BurstR 2 at 2 % on G.711 -> 190 / (1 + 25.1) = 7.280 */
    assert_true(fabs(drop("PCMU", 2, 2) - 7.2797) < 1e-3);
    net_codec_plan p;
    assert_false(net_codec_planning("opus", &p));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_mos_mapping),
        cmocka_unit_test(test_loss),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
