/* test_vmath.c - kernels/ks_vmath.h's erfcx: accuracy against mpmath on
 * every instruction set the CPU has, the special values, and the same bits
 * from every instruction set (the promise that lets a cluster mix CPUs).
 *
 * ERFCX_REF holds x as an exact double and erfcx(x) to 40 digits (long
 * double, so the reference itself is not rounded to a double before the
 * comparison), computed with mpmath 1.2.1 by:
 *
 *   import math, mpmath as mp
 *   mp.mp.dps = 50
 *   def erfcx(x):  # beyond 1e4 the asymptotic series (mpmath's erfc
 *       x = mp.mpf(x)  # overflows near 1e300; the series converges there)
 *       if x > 1e4:
 *           s, t, k = 0, mp.mpf(1), 0
 *           while abs(t) > mp.mpf(10) ** -60:
 *               s += t; k += 1; t *= -(2 * k - 1) / (2 * x * x)
 *           return s / (x * mp.sqrt(mp.pi))
 *       return mp.exp(x * x) * mp.erfc(x)
 *   xs = [0.0, 1e-300, 1e-20, 1e-8, 1e-3, 0.05, 0.1, 0.2, 0.3, 0.5, 0.7, 0.9,
 *         1.0, 1.25, 1.5, 1.75, 2.0, 2.25, 2.75, 3.0, 3.5, 4.0, 4.5, 5.0, 6.0,
 *         7.0, 8.0, 9.0, 10.0, 11.0, 12.5, 13.0, 15.0, 17.5, 20.0, 25.0, 27.3,
 *         30.0, 33.0, 36.6, 40.0]
 *   for j in range(1, 16):  # piece boundaries u = j/16: a = 3.25 (16/j - 1)
 *       a = float(mp.mpf('3.25') * (mp.mpf(16) / j - 1))
 *       xs += [a * (1 - 2**-30), math.nextafter(a, 0), a,
 *              math.nextafter(a, math.inf), a * (1 + 2**-30)]
 *   xs += [45.0, 50.0, 100.0, 1e3, 1e4, 1e5, 1e10, 1e100, 1e300]
 *   xs += [-1e-300, -1e-8, -0.1, -0.5, -1.0, -2.0, -3.5, -5.0, -10.0, -20.0,
 *          -26.5, -26.62]
 *   for x in xs:
 *       print('{%s, %sL},' % (x.hex(), mp.nstr(erfcx(x), 40, min_fixed=-4,
 *                                               max_fixed=4)))
 */
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "ks_test.h"
#include "ks_vmath.h"

/* documented in ks_vmath.h: about 1 ULP for x >= 0 (measured 1.5e-16 on
 * [0, 40], 2.3e-16 beyond), below 4e-16 for x < 0 */
#define ERFCX_TOL 4e-16L

static const long double ERFCX_REF[][2] = {
    {0x0.0p+0, 1.0L},
    {0x1.56e1fc2f8f359p-997, 1.0L},
    {0x1.79ca10c924223p-67, 0.99999999999999999998871620832904487488L},
    {0x1.5798ee2308c3ap-27, 0.999999988716208429044873272699824459566L},
    {0x1.0624dd2f1a9fcp-10, 0.9988726200811514086044507793861658861004L},
    {0x1.999999999999ap-5, 0.9459900435549614783637424582102034446756L},
    {0x1.999999999999ap-4, 0.8964569799691266366633882693077250311263L},
    {0x1.999999999999ap-3, 0.8090195199015807328259597309378099282926L},
    {0x1.3333333333333p-2, 0.7345993345676551499197833123027629942433L},
    {0x1.0000000000000p-1, 0.6156903441929258748707934226837419367823L},
    {0x1.6666666666666p-1, 0.5259303373494409584896506302604974042063L},
    {0x1.ccccccccccccdp-1, 0.4565316513231170325230179802423046533798L},
    {0x1.0000000000000p+0, 0.4275835761558070044107503444905151808202L},
    {0x1.4000000000000p+0, 0.3678229164523610929260111002040246824166L},
    {0x1.8000000000000p+0, 0.3215854164543175023543225877232655690292L},
    {0x1.c000000000000p+0, 0.2849722347374363892091639344392867326958L},
    {0x1.0000000000000p+1, 0.2553956763105057438650885809085427633026L},
    {0x1.2000000000000p+1, 0.2310872587303918699574998928966072901489L},
    {0x1.6000000000000p+1, 0.1936620962790686786026834803863900995211L},
    {0x1.8000000000000p+1, 0.179001151181389950419294815313620987228L},
    {0x1.c000000000000p+1, 0.155293655608894297402726497581878931772L},
    {0x1.0000000000000p+2, 0.1369994576250613898894451713998054823302L},
    {0x1.2000000000000p+2, 0.1224848042738414175492254544846529190937L},
    {0x1.4000000000000p+2, 0.1107046377330686263702120864917530505889L},
    {0x1.8000000000000p+2, 0.09277656780053835438948670532472992481449L},
    {0x1.c000000000000p+2, 0.07980005432915293348986449770087429955765L},
    {0x1.0000000000000p+3, 0.06998516620088092772275224944204516970748L},
    {0x1.2000000000000p+3, 0.06230772403777468414653749202684764733994L},
    {0x1.4000000000000p+3, 0.05614099274382258585751738722046831156516L},
    {0x1.6000000000000p+3, 0.05108059475808844370998558301402977200031L},
    {0x1.9000000000000p+3, 0.04499209900102792084490729195723371526748L},
    {0x1.a000000000000p+3, 0.04327192186460969266318759898303380115441L},
    {0x1.e000000000000p+3, 0.03752960638850576574606117818254821602507L},
    {0x1.1800000000000p+4, 0.03218702473823040808815639381928829563918L},
    {0x1.4000000000000p+4, 0.02817434874105131931864915453447075835252L},
    {0x1.9000000000000p+4, 0.02254957243264135894360458395939187726007L},
    {0x1.b4ccccccccccdp+4, 0.02065244832984755649454306662753334277624L},
    {0x1.e000000000000p+4, 0.01879588886141675149712532904940620914999L},
    {0x1.0800000000000p+5, 0.01708881513100412707954178149127542926009L},
    {0x1.24ccccccccccdp+5, 0.01540926861391203156984396267545028203592L},
    {0x1.4000000000000p+5, 0.01410033598337781362474128606014809471221L},
    {0x1.85fffff9e8000p+5, 0.01157068636408732159827042603926737304505L},
    {0x1.85fffffffffffp+5, 0.01157068635331581140445801736160887169958L},
    {0x1.8600000000000p+5, 0.01157068635331580971871209427014635442714L},
    {0x1.8600000000001p+5, 0.01157068635331580803296617117868432824789L},
    {0x1.8600000618000p+5, 0.01157068634254429785920462208984338525848L},
    {0x1.6bfffffa50000p+4, 0.02477565324219767048593282982243679827737L},
    {0x1.6bfffffffffffp+4, 0.02477565321916791765745471533561442323114L},
    {0x1.6c00000000000p+4, 0.02477565321916791379584813106780915456023L},
    {0x1.6c00000000001p+4, 0.02477565321916790993424154680000508849924L},
    {0x1.6c000005b0000p+4, 0.02477565319613815714853620768690409592657L},
    {0x1.c2aaaaa3a0000p+3, 0.03996056309732085159088744320809870445052L},
    {0x1.c2aaaaaaaaaaap+3, 0.03996056306028999642209027425977481896792L},
    {0x1.c2aaaaaaaaaabp+3, 0.03996056306028999140688857319819281299344L},
    {0x1.c2aaaaaaaaaacp+3, 0.03996056306028998639168687213661206276899L},
    {0x1.c2aaaab1b5556p+3, 0.03996056302325913129135239746927721797221L},
    {0x1.37fffffb20000p+3, 0.05756592341787822166690556722855547934371L},
    {0x1.37fffffffffffp+3, 0.05756592336481547690037397768590182785972L},
    {0x1.3800000000000p+3, 0.05756592336481546651994593768644044186123L},
    {0x1.3800000000001p+3, 0.05756592336481545613951789768698278069935L},
    {0x1.38000004e0000p+3, 0.0575659233117527114703184527631034004808L},
    {0x1.c999999273334p+2, 0.07815749017746604852607343198078064399351L},
    {0x1.c999999999999p+2, 0.07815749010603504632953419448081547562813L},
    {0x1.c99999999999ap+2, 0.07815749010603503680199225756608063040367L},
    {0x1.c99999999999bp+2, 0.07815749010603502727445032065134808710889L},
    {0x1.c99999a0c0000p+2, 0.07815749003460402520730203708226079086498L},
    {0x1.5aaaaaa540000p+2, 0.10246689169396126903917029130811667521L},
    {0x1.5aaaaaaaaaaaap+2, 0.1024668916015371101212740276690178109385L},
    {0x1.5aaaaaaaaaaabp+2, 0.1024668916015370938488019951367073819741L},
    {0x1.5aaaaaaaaaaacp+2, 0.1024668916015370775763299626044020446257L},
    {0x1.5aaaaab015556p+2, 0.1024668915091129188226891323747409040688L},
    {0x1.0b6db6d740000p+2, 0.1314455342493145254681170468098201493416L},
    {0x1.0b6db6db6db6dp+2, 0.1314455341330722799134973394353940632529L},
    {0x1.0b6db6db6db6ep+2, 0.1314455341330722533835542863756284988222L},
    {0x1.0b6db6db6db6fp+2, 0.1314455341330722268536112333158733968218L},
    {0x1.0b6db6df9b6dcp+2, 0.1314455340168299814998490608640444174799L},
    {0x1.9ffffff980000p+1, 0.1663353485696849507746165714664553819852L},
    {0x1.9ffffffffffffp+1, 0.1663353484268218977241281493721560644123L},
    {0x1.a000000000000p+1, 0.1663353484268218767633828671683903354638L},
    {0x1.a000000000001p+1, 0.1663353484268218558026375849646297093769L},
    {0x1.a000000680000p+1, 0.1663353482839588029891993599667491209813L},
    {0x1.438e38de80000p+1, 0.2087602323925328605960604408509225449726L},
    {0x1.438e38e38e38dp+1, 0.2087602322207245916307453048089512730918L},
    {0x1.438e38e38e38ep+1, 0.2087602322207245592210191517887993114647L},
    {0x1.438e38e38e38fp+1, 0.2087602322207245268112929987686569275816L},
    {0x1.438e38e89c71cp+1, 0.2087602320489162581151318309241418715472L},
    {0x1.f333332b66666p+0, 0.2608419736525825963554716413166087871624L},
    {0x1.f333333333332p+0, 0.2608419734508244624472047594621373919184L},
    {0x1.f333333333333p+0, 0.2608419734508244377790548728430423591765L},
    {0x1.f333333333334p+0, 0.2608419734508244131109049862239516854636L},
    {0x1.f333333b00000p+0, 0.2608419732490662794942322567105747547544L},
    {0x1.7a2e8b9d00000p+0, 0.3253438437609472872501145824656250000479L},
    {0x1.7a2e8ba2e8ba2p+0, 0.32534384353099870681967506877349810672L},
    {0x1.7a2e8ba2e8ba3p+0, 0.3253438435309986697080295284175733910744L},
    {0x1.7a2e8ba2e8ba4p+0, 0.3253438435309986325963839880616564100521L},
    {0x1.7a2e8ba8d1746p+0, 0.3253438433010500524628924378838130032165L},
    {0x1.1555555100000p+0, 0.4058438315344583205703031740115482868776L},
    {0x1.1555555555554p+0, 0.4058438312831828093061235431425899884604L},
    {0x1.1555555555555p+0, 0.4058438312831827540057223999435759792243L},
    {0x1.1555555555556p+0, 0.4058438312831826987053212567445753844422L},
    {0x1.15555559aaaaap+0, 0.4058438310319071877181015695721538550059L},
    {0x1.7ffffffa00000p-1, 0.5069376505501707618399114208705023867135L},
    {0x1.7ffffffffffffp-1, 0.5069376502931448466446072924945538600606L},
    {0x1.8000000000000p-1, 0.5069376502931448057914318215388277759377L},
    {0x1.8000000000001p-1, 0.5069376502931447649382563505831073853723L},
    {0x1.8000000600000p-1, 0.5069376500361188499683169993901526364134L},
    {0x1.db6db6d400000p-2, 0.6344693281868013595532365580630584300089L},
    {0x1.db6db6db6db6dp-2, 0.6344693279536388537870244703501782663121L},
    {0x1.db6db6db6db6ep-2, 0.6344693279536388238537976368801861908266L},
    {0x1.db6db6db6db6fp-2, 0.6344693279536387939205708034101964826199L},
    {0x1.db6db6e2db6dcp-2, 0.634469327720476288297993591238664961443L},
    {0x1.bbbbbbb4ccccdp-3, 0.7957846197050339940495308916580908033934L},
    {0x1.bbbbbbbbbbbbbp-3, 0.7957846195469263432299222157139015903995L},
    {0x1.bbbbbbbbbbbbcp-3, 0.7957846195469263214823416656493494705919L},
    {0x1.bbbbbbbbbbbbdp-3, 0.7957846195469262997347611155847983153174L},
    {0x1.bbbbbbc2aaaabp-3, 0.7957846193888186489661325944450295956838L},
    {0x1.6800000000000p+5, 0.0125344529008944670514490558541004408384L},
    {0x1.9000000000000p+5, 0.01128153626532377250018381085221429875566L},
    {0x1.9000000000000p+6, 0.005641613782989432903556457006951550718706L},
    {0x1.f400000000000p+9, 5.641893014533876541997450280616957271664e-4L},
    {0x1.3880000000000p+13, 5.641895807268084115235157250466647220429e-5L},
    {0x1.86a0000000000p+16, 5.641895835195468077749230590889189299493e-6L},
    {0x1.2a05f20000000p+33, 5.641895835477562869452585036430338044094e-11L},
    {0x1.249ad2594c37dp+332, 5.641895835477562779758339391400087495484e-101L},
    {0x1.7e43c8800759cp+996, 5.641895835477562573254406289022061768104e-301L},
    {-0x1.56e1fc2f8f359p-997, 1.0L},
    {-0x1.5798ee2308c3ap-27, 1.000000011283791770955126727300193909458L},
    {-0x1.999999999999ap-4, 1.123643354199209480663704547544654682937L},
    {-0x1.0000000000000p-1, 1.95236048918255709327604771344113097989L},
    {-0x1.0000000000000p+0, 5.008980080762283466309824598214809814694L},
    {-0x1.0000000000000p+1, 108.9409043899779724123554338248132140423L},
    {-0x1.c000000000000p+1, 4.179624224457703141290940190517570878024e+5L},
    {-0x1.4000000000000p+2, 1.44009798674661040410589634305882103744e+11L},
    {-0x1.4000000000000p+3, 5.376234283632270896825251103160027174722e+43L},
    {-0x1.4000000000000p+4, 1.044293937952828790117752601329929805905e+174L},
    {-0x1.a800000000000p+4, 1.924553162418568809242016053940094585937e+305L},
    {-0x1.a9eb851eb851fp+4, 1.129007059914682166107621572050651839647e+308L},
};
#define N_REF ((int)(sizeof ERFCX_REF / sizeof ERFCX_REF[0]))

static const ks_vm_isa ISAS[] = {KS_VM_ISA_AUTO, KS_VM_ISA_AVX512, KS_VM_ISA_AVX2, KS_VM_ISA_SSE2};
static const char *const ISA_NAMES[] = {"auto", "avx512", "avx2", "sse2"};
#define N_ISAS ((int)(sizeof ISAS / sizeof ISAS[0]))

/* erfcx on every instruction set this CPU has against mpmath */
static void test_erfcx_reference(void)
{
    double in[N_REF], out[N_REF];
    int tried = 0;
    for (int i = 0; i < N_REF; i++)
        in[i] = (double)ERFCX_REF[i][0];
    for (int s = 0; s < N_ISAS; s++) {
        memset(out, 0, sizeof out);
        if (ks_vm_apply_isa(ISAS[s], KS_VM_ERFCX, N_REF, in, out) != 0)
            continue;
        tried++;
        for (int i = 0; i < N_REF; i++) {
            long double want = ERFCX_REF[i][1];
            long double rel = fabsl((long double)out[i] - want) / want;
            if (!(rel <= ERFCX_TOL))
                fprintf(stderr, "\n  %s: erfcx(%.17g) = %.17g, want %.21Lg (rel %.2Le)\n",
                        ISA_NAMES[s], in[i], out[i], want, rel);
            CU_ASSERT(rel <= ERFCX_TOL);
        }
    }
    CU_ASSERT(tried >= 2); /* SSE2 and AUTO at least */
}

/* 0, infinities, NaN, the overflow of the negative branch, subnormal
 * results, -0, and in == out */
static void test_erfcx_special(void)
{
    const double in[] = {0.0,      -0.0,    INFINITY, -INFINITY, NAN,    -NAN,   -26.62,
                         -26.64,   -27.0,   -1e300,   DBL_MAX,   1e308,  1.0};
    enum { N = sizeof in / sizeof in[0] };
    for (int s = 0; s < N_ISAS; s++) {
        double out[N], same[N];
        if (ks_vm_apply_isa(ISAS[s], KS_VM_ERFCX, N, in, out) != 0)
            continue;
        CU_ASSERT(fabs(out[0] - 1.0) <= 2.3e-16 && out[1] == out[0]);
        CU_ASSERT(out[2] == 0.0 && !signbit(out[2]));
        CU_ASSERT(out[3] == INFINITY);
        CU_ASSERT(isnan(out[4]) && isnan(out[5]));
        CU_ASSERT(isfinite(out[6]) && out[6] > 1e308); /* 2 exp(x^2) just below DBL_MAX */
        CU_ASSERT(out[7] == INFINITY && out[8] == INFINITY && out[9] == INFINITY);
        /* 1/(x sqrt(pi)) below DBL_MIN: subnormal, but close in absolute terms */
        CU_ASSERT(out[10] > 0.0 && fabs(out[10] - 0.56418958354775628695 / DBL_MAX) < 1e-321);
        CU_ASSERT(out[11] > 5.64e-309 && out[11] < 5.65e-309);
        /* in place */
        memcpy(same, in, sizeof same);
        CU_ASSERT(ks_vm_apply_isa(ISAS[s], KS_VM_ERFCX, N, same, same) == 0);
        CU_ASSERT(memcmp(same, out, sizeof same) == 0);
    }
}

/* splitmix64: a fixed sequence, so the inputs are the same on every run */
static uint64_t next_u64(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15u);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return z ^ (z >> 31);
}

static double next_unit(uint64_t *state) /* in [0, 1) */
{
    return (double)(next_u64(state) >> 11) * 0x1p-53;
}

/* The same bits from every instruction set: a few thousand inputs over the
 * whole range (uniform on [0, 50] and [-27, 0], log-uniform from 1e-300 to
 * 1e300, every piece boundary and its neighbours, the special values), as
 * one array and as short arrays of every length up to 17 at every offset
 * (so every tail of the AVX-512 and AVX2 loops is padded), all compared
 * with memcmp against SSE2, the scalar code every x86-64 has. */
static void test_erfcx_same_bits(void)
{
    enum { N = 4099 };
    static double in[N], want[N], got[N];
    uint64_t state = 42;
    int n = 0;
    const double special[] = {0.0, -0.0, INFINITY, -INFINITY, NAN, DBL_MAX, -DBL_MAX,
                              DBL_MIN, 5e-324, -5e-324, 1.0, -26.62, -26.64};
    for (size_t i = 0; i < sizeof special / sizeof special[0]; i++)
        in[n++] = special[i];
    for (int j = 1; j < 16; j++) { /* piece boundaries and their neighbours */
        double a = 3.25 * (16.0 / j - 1.0);
        in[n++] = nextafter(a, 0.0);
        in[n++] = a;
        in[n++] = nextafter(a, INFINITY);
    }
    while (n < N) {
        double v = next_unit(&state);
        switch (n % 4) {
        case 0: in[n++] = 50.0 * v; break;
        case 1: in[n++] = -27.0 * v; break;
        case 2: in[n++] = pow(10.0, -300.0 + 600.0 * v); break;
        default: in[n++] = 8.0 * v; break;
        }
    }
    CU_ASSERT_FATAL(ks_vm_apply_isa(KS_VM_ISA_SSE2, KS_VM_ERFCX, N, in, want) == 0);
    int tried = 0;
    for (int s = 0; s < N_ISAS; s++) {
        if (ISAS[s] == KS_VM_ISA_SSE2 || ks_vm_apply_isa(ISAS[s], KS_VM_ERFCX, N, in, got) != 0)
            continue;
        tried++;
        int diff = 0;
        for (int i = 0; i < N; i++)
            if (memcmp(&got[i], &want[i], sizeof got[i]) != 0 && diff++ < 5)
                fprintf(stderr, "\n  %s: erfcx(%a) = %a, sse2 %a\n", ISA_NAMES[s], in[i], got[i],
                        want[i]);
        CU_ASSERT(diff == 0);
        /* short arrays: every tail length at several offsets */
        for (int len = 1; len <= 17; len++)
            for (int off = 0; off + len <= N; off += 997) {
                double part[17];
                CU_ASSERT(ks_vm_apply_isa(ISAS[s], KS_VM_ERFCX, len, in + off, part) == 0);
                CU_ASSERT(memcmp(part, want + off, sizeof(double) * (size_t)len) == 0);
            }
    }
    CU_ASSERT(tried >= 1); /* AUTO at least */
    /* ks_vm_apply is AUTO */
    ks_vm_apply(KS_VM_ERFCX, N, in, got);
    ks_vm_isa_name(); /* (just that it answers) */
    CU_ASSERT(ks_vm_apply_isa(KS_VM_ISA_AUTO, KS_VM_ERFCX, N, in, want) == 0);
    CU_ASSERT(memcmp(got, want, sizeof got) == 0);
}

int main(void)
{
    static const ks_test_case cases[] = {
        {"erfcx on every instruction set vs mpmath (40 digits)", test_erfcx_reference},
        {"erfcx: 0, inf, NaN, overflow, subnormal, in place", test_erfcx_special},
        {"erfcx: the same bits on every instruction set, tails included", test_erfcx_same_bits},
        {NULL, NULL},
    };
    printf("vector unit: %s\n", ks_vm_isa_name());
    return ks_test_run("vmath", cases);
}
