/* bind.h: what the Lua binding files share.
 *
 * One file per userdata type (tensor.c, dataset.c, model.c), each ending in
 * a luaopen_ function; this header holds the type names, the shared
 * context and the few functions one binding needs from another (a model
 * returns tensors, a dataset sample is a tensor).
 *
 * The context (ember_ctx) is the only mutable state of the bindings and is
 * anchored in the Lua registry, never in a C global: the seed generator
 * models draw their seeds from, the thread count, whether output may use
 * colour. */
#ifndef EMBER_BIND_H
#define EMBER_BIND_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>

#include <lauxlib.h>
#include <lua.h>

#include "core/rng.h"
#include "data/dataset.h"

#define TENSOR_MT  "ember.Tensor"
#define DATASET_MT "ember.Dataset"
#define MODEL_MT   "ember.Model"
#define LAYER_MT   "ember.Layer"

enum { INTERRUPT_NONE = 0, INTERRUPT_PENDING = 1, INTERRUPT_RAISED = 2 };

typedef struct ember_ctx {
    rng  seeds;      /* seed(n) resets it; each new model draws its seed here */
    int  threads;    /* matrix-product threads */
    bool color;      /* terminal output may use colour and Unicode */
    /* Ctrl-C: INTERRUPT_PENDING from the SIGINT handler until training
     * (at the next batch boundary) or the Lua hook (at the next
     * instruction) acts on it; the hook leaves INTERRUPT_RAISED, so
     * training can tell that an error in a callback was the interrupt. */
    volatile sig_atomic_t interrupted;
} ember_ctx;

/* The context, created on first use. */
ember_ctx *bind_ctx(lua_State *L);

/* Raises a core error message (from an EMBER_ERR_SIZE buffer) as a Lua
 * error prefixed with the function's name: "nn.dense: ...". */
int bind_error(lua_State *L, const char *function, const char *message);

/* ---- tensors (tensor.c) ------------------------------------------------
 * A float32 array of rank 1..4, row-major. Owned tensors keep their data
 * inside the userdata block; a view points into another object's memory
 * (a model's weights, a parent tensor's rows) and keeps that object alive
 * through its first user value. */
typedef struct tensor {
    int    rank;
    int    shape[4];
    size_t size;      /* product of shape */
    float *data;
    bool   view;
} tensor;

/* A new owned tensor, zero-filled, pushed on the stack. Raises on an
 * impossible shape or out of memory. */
tensor *tensor_push(lua_State *L, int rank, const int *shape);
/* A view of data with the given shape, pushed on the stack; the value at
 * owner (a stack index) is kept alive as long as the view is. */
tensor *tensor_push_view(lua_State *L, int owner, float *data, int rank, const int *shape);
tensor *tensor_check(lua_State *L, int arg);
tensor *tensor_test(lua_State *L, int arg);    /* NULL if not a tensor */

/* ---- datasets (dataset.c) ---------------------------------------------
 * A Dataset userdata holds a dataset struct; a subset is a slice whose
 * parent is kept alive through the first user value. */
const dataset *dataset_check(lua_State *L, int arg);
const dataset *dataset_test(lua_State *L, int arg);   /* NULL if not one */

int luaopen_ember(lua_State *L);          /* the "ember" module: seed, threads */
int luaopen_ember_tensor(lua_State *L);   /* the "tensor" module */
int luaopen_ember_data(lua_State *L);     /* the "data" module */
int luaopen_ember_nn(lua_State *L);       /* the "nn" module */
int luaopen_ember_render(lua_State *L);   /* ember.render, for lua/inspect.lua */

#endif
