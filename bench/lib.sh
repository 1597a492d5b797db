# Shared by the bench/ scripts (source it).

# "median (min-max)" of numbers on stdin: this VM's runs differ by up to ~30%, so the spread is
# part of every figure.
median() { sort -n | awk '{a[NR]=$1} END {m = (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2; printf "%s (%s-%s)\n", m, a[1], a[NR]}'; }
# The median of a "median (min-max)" figure.
first() { cut -d' ' -f1; }
# The value of NAME=VALUE in bench/cc.lua's RESULT line on stdin.
field() { sed -n "s/.*$1=\([0-9.]*\).*/\1/p"; }
