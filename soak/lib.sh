# Shared by soak.sh and flood.sh: sourced, not run.

# Compiles the samples module (the demo) with what it uses, and prints the class path that runs the demo and the soak
# server (a test class of the library, on the samples' test class path through the library's test jar).
# $1: the project root, $2: a work directory for the dependency list.
soak_classpath() {
  (cd "$1" && mvn -q -pl samples -am test-compile dependency:build-classpath -Dmdep.includeScope=test \
    -Dmdep.outputFile="$2/classpath.txt" >/dev/null)
  echo "$1/samples/target/test-classes:$1/samples/target/classes:$(cat "$2/classpath.txt")"
}

# Live heap in KB of process $1: the sum of "used" over the heap's generations (G1, Parallel or Serial), after a
# full GC.
live_heap_kb() {
  jcmd "$1" GC.run >/dev/null 2>&1 || true
  jcmd "$1" GC.heap_info 2>/dev/null | grep -v -e Metaspace -e 'class space' \
    | grep -o 'total [0-9]*K, used [0-9]*K' | sed 's/.*used \([0-9]*\)K/\1/' | awk '{s += $1} END {print s + 0}'
}
