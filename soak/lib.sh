# Shared by soak.sh and flood.sh: sourced, not run.

# Compiles the test classes (the demo and the soak server live there) and prints the class path that runs them.
# $1: the project root, $2: a work directory for the dependency list.
soak_classpath() {
  (cd "$1" && mvn -q test-compile dependency:build-classpath -Dmdep.includeScope=test \
    -Dmdep.outputFile="$2/classpath.txt" >/dev/null)
  echo "$1/target/test-classes:$1/target/classes:$(cat "$2/classpath.txt")"
}

# Live heap in KB of process $1: the sum of "used" over the heap's generations (G1, Parallel or Serial), after a
# full GC.
live_heap_kb() {
  jcmd "$1" GC.run >/dev/null 2>&1 || true
  jcmd "$1" GC.heap_info 2>/dev/null | grep -v -e Metaspace -e 'class space' \
    | grep -o 'total [0-9]*K, used [0-9]*K' | sed 's/.*used \([0-9]*\)K/\1/' | awk '{s += $1} END {print s + 0}'
}
