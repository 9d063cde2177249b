# The scaling curves of bench/full: speedup T(1x1) / T(config) of each stage and of
# the whole study against the cores used (ranks x threads, at most the machine's
# cores: 2x2 on 2 cores is drawn at 2), with the ideal line.
# bench/full_bench.py writes the data file and runs
#   gnuplot -e "dat='X.dat'; out='X.png'; subtitle='...'; threaded=0|1; maxcores=N" bench/full_scaling.gp
# Data file: one row per configuration, columns
#   config ranks threads cores ingest relatedness panel fit report study x_drawn y_label
# (x_drawn: where a threaded configuration's points go, y_label: its label's height)
# block 0 (index 0): the configurations with 1 thread per rank (MPI ranks only), drawn
# as lines; block 1 (index 1, only when threaded=1): those with 2 or more threads per
# rank, drawn as open points of the same colours, a little to the right, labelled.
if (!exists("dat") || !exists("out")) {
    print "usage: gnuplot -e \"dat='FILE.dat'; out='FILE.png'\" bench/full_scaling.gp"
    exit status 2
}
if (!exists("subtitle")) subtitle = ""
if (!exists("threaded")) threaded = 0
if (!exists("maxcores")) maxcores = 2

stages = "ingest relatedness panel fit report study"
set terminal pngcairo size 900,620 enhanced font "DejaVu Sans,11"
set output out
set title "kspill strong scaling, bench/full\n{/*0.8 ".subtitle."}"
set xlabel "cores used (MPI ranks x OpenMP threads, at most the machine's)"
set ylabel "speedup over 1 rank x 1 thread"
set xrange [0.8:maxcores * 1.05 + 0.2]
set yrange [0:maxcores * 1.05 + 0.2]
set xtics 1
if (maxcores > 8) set xtics 2
set grid
set key left top
set style line 7 lc rgb "#555555" dt 2 lw 1.5

# colours: one per stage, the study in black and thick
col(i) = word("#1b9e77 #d95f02 #7570b3 #e7298a #66a61e #000000", i)
lw(i) = (i == 6 ? 3 : 1.5)
if (threaded) {
    plot x with lines ls 7 title "ideal", \
         for [i=1:6] dat index 0 using 4:(column(i + 4)) with linespoints lw lw(i) pt 7 ps 1.2 \
             lc rgb col(i) title word(stages, i), \
         for [i=1:6] dat index 1 using 11:(column(i + 4)) with points pt 6 ps 1.8 lw 1.5 \
             lc rgb col(i) notitle, \
         dat index 1 using 11:12:1 with labels font ",9" notitle, \
         1/0 with points pt 6 ps 1.5 lc rgb "#555555" title "open: 2+ threads per rank"
} else {
    plot x with lines ls 7 title "ideal", \
         for [i=1:6] dat index 0 using 4:(column(i + 4)) with linespoints lw lw(i) pt 7 ps 1.2 \
             lc rgb col(i) title word(stages, i)
}
