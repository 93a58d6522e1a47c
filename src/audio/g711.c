/*
 * g711.c - G.711 u-law and A-law expansion to 16-bit linear (ITU-T G.711, Tables 1a and 2a):
 * the one copy that file decoding (decode.c), RTP captures (src/net/call_wav.c) and live RTP
 * (src/live/) read through cq_audio.h.
 *
 * u-law: the byte is sent inverted; 3 bits of segment and 4 of mantissa give
 * ((mantissa << 3) + 0x84) << segment, less the bias 0x84. A-law: the even bits are inverted
 * (xor 0x55); segment 0 is linear, the others double; a set sign bit means positive.
 */
#include "callqa/cq_audio.h"

int16_t cq_g711_ulaw_s16(uint8_t u)
{
    int v = ~u & 0xff;
    int seg = (v >> 4) & 7, mant = v & 0x0f;
    int mag = (((mant << 3) + 0x84) << seg) - 0x84;
    return (int16_t)((v & 0x80) ? -mag : mag);
}

int16_t cq_g711_alaw_s16(uint8_t a)
{
    int v = a ^ 0x55;
    int seg = (v >> 4) & 7, mant = v & 0x0f;
    int mag = seg == 0 ? (mant << 4) + 8 : ((mant << 4) + 0x108) << (seg - 1);
    return (int16_t)((v & 0x80) ? mag : -mag);
}
