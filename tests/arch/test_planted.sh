#!/bin/sh
# test_planted.sh - the structure checks fail when they should: each is run on a planted
# violation and must report it (and pass on the tree as it is).
#   - the include rule (check_includes.py): a client header that includes the pipeline's header
#     (a room reaching up), in a copy of the tree; and a dependency file that says a client
#     object read svc.h through another header (an indirect include); the service's own rule: a
#     service file including proc.h, cq_engine.h or live.h, or calling the engine or src/proc,
#     and service objects whose dependency files list an engine header (cq_engine.h; the
#     report, cq_report.h, read through transcript.h; a stage's header);
#   - the settings (test_config): a copy of docs/config.md with a setting's row removed, a
#     default changed, and a row for a setting that does not exist;
#   - docs/ARCHITECTURE.md (check_doc.py): a source file it does not name, a C file's name
#     that is no file of the tree, and a room drawn on another floor than its table row says.
#   usage: test_planted.sh SOURCE_DIR BUILD_DIR
set -u
SRC=$(cd "$1" && pwd)
B=$(cd "$2" && pwd)
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/../lib.sh"
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT

check "the include rule holds on the tree" python3 "$HERE/check_includes.py" "$SRC" "$B"
mkdir -p "$T/tree"
cp -r "$SRC/src" "$SRC/include" "$T/tree/"
sed -i 's|#include "../config/config.h"|#include "../config/config.h"\n#include "../pipeline/pipeline.h"|' \
    "$T/tree/src/clients/asr.h"
python3 "$HERE/check_includes.py" "$T/tree" > "$T/up.out"
check "planted: clients/asr.h including pipeline.h fails the include rule" [ $? -eq 1 ]
check "planted: ... and the failure names it" grep -q "src/clients/asr.h.*pipeline/pipeline.h.*reaches up" "$T/up.out"
# an indirect include: a depfile of a client object that lists svc.h
mkdir -p "$T/build/CMakeFiles/callqa_clients.dir/src/clients"
{
    echo "CMakeFiles/callqa_clients.dir/src/clients/asr.c.o: \\"
    echo " $SRC/src/clients/asr.c $SRC/src/clients/asr.h \\"
    echo " $SRC/src/service/svc.h"
} > "$T/build/CMakeFiles/callqa_clients.dir/src/clients/asr.c.o.d"
python3 "$HERE/check_includes.py" "$SRC" "$T/build" > "$T/dep.out"
check "planted: a client object that read svc.h through a header fails the include rule" [ $? -eq 1 ]
check "planted: ... and the failure names the object and the header" \
    grep -q "src/clients/asr.c (object asr.c.o) reads src/service/svc.h" "$T/dep.out"

# the service speaks HTTP: a service file including src/proc's header (the analysis host's) or the
# engine's API, and a service object that read the engine's API through another header
sed -i 's|#include "svc_hot.h"|#include "svc_hot.h"\n#include "../proc/proc.h"\n#include "callqa/cq_engine.h"|' \
    "$T/tree/src/service/svc_hot.c"
python3 "$HERE/check_includes.py" "$T/tree" > "$T/svc.out"
check "planted: a service file including proc.h and cq_engine.h fails the include rule" [ $? -eq 1 ]
check "planted: ... naming proc.h" grep -q 'src/service/svc_hot.c: #include "../proc/proc.h": the service includes no header of the engine or of src/proc' "$T/svc.out"
check "planted: ... and cq_engine.h" grep -q 'src/service/svc_hot.c: #include "callqa/cq_engine.h": the service reads no header of the engine' "$T/svc.out"
mkdir -p "$T/build2/CMakeFiles/callqa_service.dir/src/service"
{
    echo "CMakeFiles/callqa_service.dir/src/service/svc_hot.c.o: \\"
    echo " $SRC/src/service/svc_hot.c $SRC/src/service/svc_hot.h \\"
    echo " $SRC/include/callqa/cq_engine.h"
} > "$T/build2/CMakeFiles/callqa_service.dir/src/service/svc_hot.c.o.d"
python3 "$HERE/check_includes.py" "$SRC" "$T/build2" > "$T/svcdep.out"
check "planted: a service object that read cq_engine.h through a header fails the include rule" [ $? -eq 1 ]
check "planted: ... and the failure names the object and the header" \
    grep -q "src/service/svc_hot.c (object svc_hot.c.o) reads include/callqa/cq_engine.h" "$T/svcdep.out"

# the service reaches the live room only through the pipeline's header: a service file including
# the live room's header by a line of its own; and calling the engine and src/proc directly
cp "$SRC/src/service/svc_hot.c" "$T/tree/src/service/svc_hot.c"
sed -i 's|#include "svc_hot.h"|#include "svc_hot.h"\n#include "../live/live.h"|' "$T/tree/src/service/svc_hot.c"
printf 'static void planted(void) { proc_write_all(1, "", 0); cq_engine_free(NULL); }\n' \
    >> "$T/tree/src/service/svc_hot.c"
python3 "$HERE/check_includes.py" "$T/tree" > "$T/live.out"
check "planted: a service file including live.h and calling proc_write_all and cq_engine_free fails" [ $? -eq 1 ]
check "planted: ... naming live.h" grep -q 'src/service/svc_hot.c: #include "../live/live.h": the service includes no header of src/live' "$T/live.out"
check "planted: ... and each call" sh -c "grep -q 'src/service/svc_hot.c: calls proc_write_all' '$T/live.out' &&
    grep -q 'src/service/svc_hot.c: calls cq_engine_free' '$T/live.out'"

# no engine header reaches the service through any header: a service object that read the report
# (cq_report.h, through a room's header such as transcript.h) and a stage's header
mkdir -p "$T/build3/CMakeFiles/callqa_service.dir/src/service"
{
    echo "CMakeFiles/callqa_service.dir/src/service/svc_qa.c.o: \\"
    echo " $SRC/src/service/svc_qa.c $SRC/src/service/svc_qa.h \\"
    echo " $SRC/src/transcript/transcript.h $SRC/include/callqa/cq_report.h \\"
    echo " $SRC/include/callqa/cq_finding.h $SRC/src/stages/stage.h"
} > "$T/build3/CMakeFiles/callqa_service.dir/src/service/svc_qa.c.o.d"
python3 "$HERE/check_includes.py" "$SRC" "$T/build3" > "$T/svcrep.out"
check "planted: a service object that read cq_report.h and a stage's header through headers fails" [ $? -eq 1 ]
check "planted: ... naming cq_report.h" \
    grep -q "src/service/svc_qa.c (object svc_qa.c.o) reads include/callqa/cq_report.h: the service reads no header of the engine" "$T/svcrep.out"
check "planted: ... cq_finding.h" grep -q "svc_qa.c.o) reads include/callqa/cq_finding.h" "$T/svcrep.out"
check "planted: ... and the stage's header" grep -q "svc_qa.c.o) reads src/stages/stage.h" "$T/svcrep.out"

check "the settings check passes on docs/config.md" "$B/tests/test_config" > /dev/null 2>&1
grep -v '^| `vad_threshold`' "$SRC/docs/config.md" |
    sed 's/^| `asr_retries` | \(.*\) | `3` |/| `asr_retries` | \1 | `4` |/' > "$T/config.md"
echo '| `no_such_setting` | | `1` | planted |' >> "$T/config.md"
"$B/tests/test_config" "$T/config.md" > "$T/cfg.out" 2>&1
check "planted: docs/config.md without a row, with a wrong default and an unknown row fails" [ $? -ne 0 ]
check "planted: ... naming the missing row" grep -q "vad_threshold: no row" "$T/cfg.out"
check "planted: ... the wrong default" grep -q "asr_retries: default '3'" "$T/cfg.out"
check "planted: ... and the unknown setting" grep -q "'no_such_setting', which is no setting" "$T/cfg.out"
check "docs/ARCHITECTURE.md names every source file" python3 "$HERE/check_doc.py" "$SRC"
mkdir -p "$T/doc/docs"
cp -r "$SRC/src" "$SRC/include" "$T/doc/"
: > "$T/doc/src/base/planted_unnamed.c"
sed 's|`src/nn/mel.c`|`src/nn/mel_gone.c`|' "$SRC/docs/ARCHITECTURE.md" > "$T/doc/docs/ARCHITECTURE.md"
python3 "$HERE/check_doc.py" "$T/doc" > "$T/doc.out"
check "planted: a source file the document does not name fails the document check" [ $? -eq 1 ]
check "planted: ... naming it" grep -q "does not name src/base/planted_unnamed.c" "$T/doc.out"
check "planted: ... and the name of no file" grep -q "names mel_gone.c, which is no file" "$T/doc.out"
# the drawing of the floors with the pipeline drawn a floor down (on the ingest's line)
rm "$T/doc/src/base/planted_unnamed.c"
sed 's|^ 9  pipeline    |    pipeline    |' "$SRC/docs/ARCHITECTURE.md" > "$T/doc/docs/ARCHITECTURE.md"
python3 "$HERE/check_doc.py" "$T/doc" > "$T/doc.out"
check "planted: a room drawn on another floor than the table's fails the document check" [ $? -eq 1 ]
check "planted: ... naming the room and both floors" \
    grep -q "room pipeline: floor 10 in the drawing, 9 in the table, 9 in check_includes.py" "$T/doc.out"
finish "planted violations"
