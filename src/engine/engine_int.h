/*
 * engine_int.h - the engine's object, for the stages (src/stages/) that load models into it and
 * read its parameters. Internal to the library.
 */
#ifndef CQ_ENGINE_INT_H
#define CQ_ENGINE_INT_H

#include "callqa/callqa.h"

struct cq_engine {
    cq_engine_params p;     /* p.analyzers: the selection with every stage it needs */
    char *model_dir;        /* copies of the strings p points to */
    char *vad_model_name;
    char *tmp_dir;
    cq_vad_model *vad;      /* NULL: the VAD runs its DSP fallback */
    char *vad_status;       /* why, when vad is NULL and the VAD is selected */
    cq_nisqa_model *nisqa;  /* NULL: no NISQA scores */
    char *nisqa_status;     /* why, when nisqa is NULL and NISQA is selected */
};

#endif /* CQ_ENGINE_INT_H */
