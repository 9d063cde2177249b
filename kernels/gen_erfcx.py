#!/usr/bin/python3
"""gen_erfcx.py - derive the coefficients of kspill's erfcx and write
kernels/ks_erfcx_table.h.

    /usr/bin/python3 kernels/gen_erfcx.py          # writes the header, prints the errors
    /usr/bin/python3 kernels/gen_erfcx.py --scan   # the table behind the choices below

Needs only Debian's python3 and its mpmath (1.2.1); every number in the
header comes from mpmath at 50 digits here, none from other software.

The variable.  erfcx(a) = exp(a^2) erfc(a) for a >= 0 falls from 1 at a = 0
to 1/(a sqrt(pi)) as a -> inf.  A polynomial in a cannot follow that 1/a
tail, so the argument is mapped onto (0, 1] by

    u = K / (K + a),   K = 3.25,

and erfcx is a polynomial in u on each of 16 equal pieces [j/16, (j+1)/16].
In u the function is smooth all the way to u = 0 (a = inf): a = K (1 - u)/u
is analytic except at u = 0, erfcx is entire, and the asymptotic series
makes f(u) = erfcx(a(u)) behave like u/(K sqrt(pi)) (1 + O(u)) there.  So no
separate asymptotic formula is needed: one Horner scheme covers a = 0 to
a = 1.8e308.  On piece j >= 1 the polynomial is in s = u - c_j (c_j the
centre, so that q - c_j is exact in double, see ks_vmath_erfcx.h); on piece
0 (a > 15 K = 48.75) it is s * g(s) with s = u and g = f/u of one degree
less, so its constant term is exactly 0 and the relative error stays flat
as erfcx -> 0 (a = 1e300 gives u = 3e-300).

Pieces and degree.  --scan prints the largest relative error of Chebyshev
interpolation (first-kind nodes) over all pieces (mpmath, 41 points a
piece); an excerpt:

    K       16 pieces: deg 8   deg 9      8 pieces: deg 10   deg 11
    2                  3.5e-16  2.5e-17             1.7e-16   1.5e-17
    2.5                8.7e-16  6.6e-18             1.1e-16   5.1e-18
    3                  1.1e-16  6.2e-18             1.2e-16   1.0e-18
    3.25               7.3e-16  1.5e-18             9.9e-17   2.7e-18
    4                  2.6e-15  2.7e-17             2.7e-16   3.2e-18
    5                  1.4e-14  1.2e-16             2.1e-15   2.9e-17

Degree 9 on 16 pieces is the cheapest that leaves the approximation error
(1.5e-18, 1/70 of an ULP) far below the rounding of the evaluation: 10
coefficients and a centre per piece, i.e. 12 table look-ups (the constant
term is two) and 10 fused multiply-adds.  8 pieces need degree 11 for the
same error (two more look-ups and two more fmas; timed, no faster with the
one-register permute), and degree 8 on 16 pieces is at half an ULP or
more.  Sixteen entries fill two AVX-512 registers, so one
_mm512_permutex2var_pd selects a coefficient for 8 lanes (no gather).
K = 3.25 is the best K for degree 9; it also puts piece 0 beyond a = 40.

The constant term of every piece is stored as a pair hi + lo (lo the rest
of the 50-digit value) and added last with the unrounded s
(ks_vmath_erfcx.h), so it costs no rounding of its own.  Rounding the other
coefficients to doubles raises the approximation error to 3.0e-17 (printed
below, piece by piece).

Measured end to end: the C code, which gives the same bits on every
instruction set, against mpmath at 40 digits on 2.3 million points (uniform
on [0, 48.75], log-uniform from 1e-8 to 48.75 and from 48.75 to 1e300, and
around every piece boundary): largest relative error 1.43e-16 (0.89 ULP)
on [0, 40] and 1.86e-16 (1.22 ULP) above 40; for x < 0 (30000 points)
3.0e-16.

The negative branch (erfcx(-a) = 2 exp(a^2) - erfcx(a)) needs exp, which
must give the same bits on every instruction set too, so it is ours as
well: exp(r) for |r| <= ln2/2 is its Taylor polynomial of degree 13
(remainder below 6e-18 relative, checked below), after r = a^2 - k ln2
with ln 2 in two pieces.
"""
import os
import sys

import mpmath as mp

mp.mp.dps = 50

K = mp.mpf('3.25')  # the scale of u = K / (K + a); a double exactly
PIECES = 16
DEG = 9
EXP_DEG = 13


def erfcx(a):
    """exp(a^2) erfc(a) to 50 digits, a >= 0 (beyond 1e4 the asymptotic
    series, which converges there to far more digits: mpmath's erfc
    overflows near 1e300)."""
    a = mp.mpf(a)
    if a > 10000:
        x2 = 1 / (2 * a * a)
        term, total, k = mp.mpf(1), mp.mpf(0), 0
        while abs(term) > mp.mpf(10) ** -60:
            total += term
            k += 1
            term *= -(2 * k - 1) * x2
        return total / (a * mp.sqrt(mp.pi))
    return mp.exp(a * a) * mp.erfc(a)


def f_of_u(u, k):
    return erfcx(k * (1 - u) / u)


def piece_target(j, k, pieces):
    """The function piece j interpolates, its interval in s, its centre."""
    lo, hi = mp.mpf(j) / pieces, mp.mpf(j + 1) / pieces
    if j == 0:  # g(s) = f(s)/s, g(0) = 1/(K sqrt(pi))
        def g(s):
            return 1 / (k * mp.sqrt(mp.pi)) if s == 0 else f_of_u(s, k) / s
        return g, lo, hi, mp.mpf(0)
    c = (lo + hi) / 2
    return (lambda s: f_of_u(c + s, k)), lo - c, hi - c, c


def interpolate(fun, lo, hi, deg):
    """Monomial coefficients (in s) of the polynomial of degree deg through
    fun at the Chebyshev points of the first kind on [lo, hi]."""
    mid, half = (lo + hi) / 2, (hi - lo) / 2
    zs = [mp.cos(mp.pi * (i + mp.mpf(1) / 2) / (deg + 1)) for i in range(deg + 1)]
    # solve in z = (s - mid)/half (well conditioned), then expand to powers of s
    vand = mp.matrix([[z ** p for p in range(deg + 1)] for z in zs])
    b = mp.lu_solve(vand, mp.matrix([fun(mid + half * z) for z in zs]))
    coef = [mp.mpf(0)] * (deg + 1)
    for p in range(deg + 1):  # b_p ((s - mid)/half)^p
        for i in range(p + 1):
            coef[i] += b[p] * mp.binomial(p, i) * (-mid) ** (p - i) / half ** p
    return coef


def piece_coefficients(j, k=K, pieces=PIECES, deg=DEG):
    """[c0, c1, ..., c_deg] of piece j in its s (50 digits)."""
    fun, lo, hi, _ = piece_target(j, k, pieces)
    if j == 0:
        return [mp.mpf(0)] + interpolate(fun, lo, hi, deg - 1)
    return interpolate(fun, lo, hi, deg)


def horner(coef, s):
    acc = mp.mpf(0)
    for c in reversed(coef):
        acc = acc * s + c
    return acc


def piece_error(j, coef, k=K, pieces=PIECES, npts=200):
    """Largest relative error of the polynomial coef (exact, or already
    rounded to doubles) against erfcx over piece j, a little beyond its ends
    (rounding can select a piece for a u just outside it)."""
    _, lo, hi, c = piece_target(j, k, pieces)
    slop = mp.mpf(2) ** -40
    worst = mp.mpf(0)
    for m in range(npts + 1):
        s = lo - slop + (hi - lo + 2 * slop) * m / npts
        if c + s > 0:
            worst = max(worst, abs(horner(coef, s) / f_of_u(c + s, k) - 1))
    return worst


def scan():
    print("largest relative error of the interpolant over all pieces")
    for k in ['2', '2.5', '2.75', '3', '3.25', '3.5', '4', '5']:
        for pieces, degs in ((16, (8, 9, 10)), (8, (10, 11, 12))):
            kk = mp.mpf(k)
            row = []
            for deg in degs:
                errs = [piece_error(j, piece_coefficients(j, kk, pieces, deg), kk, pieces, 40)
                        for j in range(pieces)]
                row.append("deg %d: %.1e" % (deg, float(max(errs))))
            print("K = %-5s %2d pieces  %s" % (k, pieces, "   ".join(row)))


def exp_check():
    """Taylor polynomial of exp of degree EXP_DEG with double coefficients
    against exp on |r| <= ln2/2 (and a little more: the reduction rounds)."""
    coef = [float(1 / mp.factorial(i)) for i in range(EXP_DEG + 1)]
    rmax = mp.log(2) / 2 * (1 + mp.mpf(2) ** -20)
    worst = max(abs(horner([mp.mpf(c) for c in coef], r) / mp.exp(r) - 1)
                for r in mp.linspace(-rmax, rmax, 401))
    return coef, worst


def hexlist(values):
    return ", ".join(float(v).hex() for v in values)


def header(rows, worst_rounded, exp_coef, exp_err):
    """The text of ks_erfcx_table.h."""
    ln2_hi = float(mp.log(2))
    ln2_lo = float(mp.log(2) - mp.mpf(ln2_hi))
    out = []
    w = out.append
    w("/* ks_erfcx_table.h - GENERATED by kernels/gen_erfcx.py; do not edit.")
    w(" * Regenerate with:  /usr/bin/python3 kernels/gen_erfcx.py  (Debian's mpmath)")
    w(" *")
    w(" * The coefficients of ks_vmath's erfcx (see ks_vmath_erfcx.h): u = K/(K + a)")
    w(" * on %d equal pieces of (0, 1], a polynomial of degree %d in s = u - centre"
      % (PIECES, DEG))
    w(" * on each (Chebyshev interpolation in mpmath at 50 digits).  Largest")
    w(" * relative error of the polynomials with these double coefficients: %.1e."
      % float(worst_rounded))
    w(" * Row r of KS_ERFCX_TAB holds one quantity for the %d pieces, so that one"
      % PIECES)
    w(" * vector permute selects it per lane: the centre, the constant term as")
    w(" * hi + lo, then c1 .. c%d. */" % DEG)
    w("#ifndef KS_ERFCX_TABLE_H")
    w("#define KS_ERFCX_TABLE_H")
    w("")
    w("#define KS_ERFCX_K %s /* u = K / (K + a) */" % float(K).hex())
    w("#define KS_ERFCX_INV_K %s" % float(1 / K).hex())
    w("#define KS_ERFCX_PIECES %d" % PIECES)
    w("#define KS_ERFCX_DEG %d" % DEG)
    w("enum {")
    w("    KS_ERFCX_CENTRE,")
    w("    KS_ERFCX_C0HI,")
    w("    KS_ERFCX_C0LO,")
    w("    KS_ERFCX_C1, /* .. c%d */" % DEG)
    w("    KS_ERFCX_ROWS = KS_ERFCX_C1 + KS_ERFCX_DEG")
    w("};")
    w("")
    w("static _Alignas(64) const double KS_ERFCX_TAB[KS_ERFCX_ROWS][KS_ERFCX_PIECES] = {")
    for name in ["centre", "c0hi", "c0lo"] + ["c%d" % i for i in range(1, DEG + 1)]:
        w("    /* %s */" % name)
        lines = [hexlist(rows[name][q:q + 4]) for q in range(0, PIECES, 4)]
        w("    {" + ",\n     ".join(lines) + "},")
    w("};")
    w("")
    w("/* exp(r), |r| <= ln2/2: Taylor coefficients 1/i!, i = 0 .. %d (relative"
      % EXP_DEG)
    w(" * error %.1e); ln 2 = LN2_HI + LN2_LO. */" % float(exp_err))
    w("#define KS_ERFCX_EXP_DEG %d" % EXP_DEG)
    w("static const double KS_ERFCX_EXP_C[KS_ERFCX_EXP_DEG + 1] = {")
    for q in range(0, EXP_DEG + 1, 4):
        w("    " + hexlist(exp_coef[q:q + 4]) + ",")
    w("};")
    w("#define KS_ERFCX_INV_LN2 %s" % float(1 / mp.log(2)).hex())
    w("#define KS_ERFCX_LN2_HI %s" % ln2_hi.hex())
    w("#define KS_ERFCX_LN2_LO %s" % ln2_lo.hex())
    w("")
    w("#endif")
    return "\n".join(out) + "\n"


def main():
    if "--scan" in sys.argv:
        scan()
        return
    names = ["centre", "c0hi", "c0lo"] + ["c%d" % i for i in range(1, DEG + 1)]
    rows = {name: [] for name in names}
    worst_exact, worst_rounded = mp.mpf(0), mp.mpf(0)
    for j in range(PIECES):
        coef = piece_coefficients(j)
        centre = piece_target(j, K, PIECES)[3]
        hi = float(coef[0])  # mpf -> nearest double
        lo = float(coef[0] - mp.mpf(hi))
        rounded = [mp.mpf(hi) + mp.mpf(lo)] + [mp.mpf(float(c)) for c in coef[1:]]
        e_exact, e_round = piece_error(j, coef), piece_error(j, rounded)
        worst_exact, worst_rounded = max(worst_exact, e_exact), max(worst_rounded, e_round)
        u_lo, u_hi = mp.mpf(j) / PIECES, mp.mpf(j + 1) / PIECES
        a_hi = "%8.4f" % float(K * (1 - u_lo) / u_lo) if j else "     inf"
        print("piece %2d  a in [%8.4f, %s]  error %.1e (coefficients as doubles %.1e)"
              % (j, float(K * (1 - u_hi) / u_hi), a_hi, float(e_exact), float(e_round)))
        for name, value in zip(names, [centre, hi, lo] + coef[1:]):
            rows[name].append(float(value))
    exp_coef, exp_err = exp_check()
    print("erfcx: largest relative error %.1e (exact coefficients), %.1e (as doubles)"
          % (float(worst_exact), float(worst_rounded)))
    print("exp: Taylor degree %d on |r| <= ln2/2, largest relative error %.1e"
          % (EXP_DEG, float(exp_err)))
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "ks_erfcx_table.h")
    with open(path, "w") as fh:
        fh.write(header(rows, worst_rounded, exp_coef, exp_err))
    print("wrote", path)


if __name__ == "__main__":
    main()
