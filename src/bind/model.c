/* model.c: the `nn` module: layers, optimizers, and the Model and Layer
 * userdata.
 *
 *   m = nn.sequential { nn.flatten(), nn.dense(512, "relu"), nn.dense(30, "sigmoid") }
 *   m:compile { optimizer = "adam", loss = "sparse_categorical_crossentropy",
 *               metrics = { "accuracy" } }
 *   h = m:fit(train, { epochs = 5 })      -- also m:step(n), m:epoch()
 *   print(m:evaluate(test))               -- loss, accuracy
 *   p = m:predict(test[61])               -- a tensor of output units
 *
 * Layer constructors and optimizers return plain tables with a metatable
 * (ember.LayerSpec, ember.OptimizerSpec): descriptions, checked when made,
 * that nn.sequential and compile turn into the core model. A Model owns a
 * core `model`; its user values hold the bound training set (for step and
 * epoch) and the history of every epoch trained. A Layer is a small
 * userdata naming a model and an index; its weights and bias are views of
 * the model's parameters, its output a copy.
 *
 * Training runs in the core (train_steps); the observer here draws the
 * progress line, records epochs into the history, calls the user's
 * callbacks under lua_pcall (an error stops training at a batch boundary,
 * then is raised) and stops on Ctrl-C. Nothing here allocates per batch. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bind/bind.h"
#include "core/error.h"
#include "core/gemm.h"
#include "core/model.h"
#include "core/train.h"
#include "io/checkpoint.h"
#include "term/progress.h"

#define LAYERSPEC_MT "ember.LayerSpec"
#define OPTSPEC_MT   "ember.OptimizerSpec"
#define HISTORY_MT   "ember.History"
#define LOGS_MT      "ember.Logs"

enum { UV_DATA = 1, UV_HISTORY = 2, MODEL_UVALUES = 2 };

typedef struct lmodel {
    model m;
    int   batch_size;    /* for fit, step and epoch unless told otherwise */
    bool  accuracy;      /* "accuracy" among the metrics */
    bool  ready;         /* m initialised: __gc may free it */
} lmodel;

typedef struct llayer {
    int index;           /* 0-based in the model; the model is user value 1 */
} llayer;

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* ---- option tables ----------------------------------------------------- */

/* Raises if the table at idx has a string key not in allowed (a
 * NULL-terminated list): a typo such as "epoch" must not be ignored. */
static void check_keys(lua_State *L, int idx, const char *fname, const char *const *allowed)
{
    idx = lua_absindex(L, idx);
    lua_pushnil(L);
    while (lua_next(L, idx)) {
        lua_pop(L, 1);
        if (lua_type(L, -1) != LUA_TSTRING)
            continue;
        const char *key = lua_tostring(L, -1);
        bool ok = false;
        for (int i = 0; allowed[i] && !ok; i++)
            ok = strcmp(key, allowed[i]) == 0;
        if (!ok) {
            luaL_Buffer b;
            luaL_buffinit(L, &b);
            for (int i = 0; allowed[i]; i++) {
                if (i)
                    luaL_addstring(&b, ", ");
                luaL_addstring(&b, allowed[i]);
            }
            luaL_pushresult(&b);
            luaL_error(L, "%s: unknown option \"%s\" (%s)", fname, key, lua_tostring(L, -1));
        }
    }
}

/* An integer option >= min, or def when absent (idx 0: no option table). */
static lua_Integer opt_integer(lua_State *L, int idx, const char *key, const char *fname,
                               lua_Integer def, lua_Integer min)
{
    if (idx == 0 || lua_isnoneornil(L, idx))
        return def;
    lua_getfield(L, idx, key);
    lua_Integer v = def;
    if (!lua_isnil(L, -1)) {
        int isint;
        v = lua_tointegerx(L, -1, &isint);
        if (!isint || v < min)
            luaL_error(L, "%s: %s must be an integer of at least %d (got %s)", fname, key,
                       (int)min, luaL_tolstring(L, -1, NULL));
    }
    lua_pop(L, 1);
    return v;
}

static double opt_number(lua_State *L, int idx, const char *key, const char *fname, double def)
{
    lua_getfield(L, idx, key);
    double v = def;
    if (!lua_isnil(L, -1)) {
        int isnum;
        v = lua_tonumberx(L, -1, &isnum);
        if (!isnum)
            luaL_error(L, "%s: %s must be a number (got %s)", fname, key, luaL_typename(L, -1));
    }
    lua_pop(L, 1);
    return v;
}

static bool opt_boolean(lua_State *L, int idx, const char *key, bool def)
{
    if (idx == 0 || lua_isnoneornil(L, idx))
        return def;
    lua_getfield(L, idx, key);
    bool v = lua_isnil(L, -1) ? def : lua_toboolean(L, -1);
    lua_pop(L, 1);
    return v;
}

/* ---- layer specs ------------------------------------------------------- */

static void push_spec(lua_State *L, const char *kind)
{
    lua_newtable(L);
    lua_pushstring(L, kind);
    lua_setfield(L, -2, "kind");
    luaL_setmetatable(L, LAYERSPEC_MT);
}

/* nn.dense(units [, activation]): Keras's Dense, linear unless told. */
static int nn_dense(lua_State *L)
{
    int isint;
    lua_Integer units = lua_tointegerx(L, 1, &isint);
    if (!isint || units < 1 || units > INT32_MAX)
        return luaL_error(L, "nn.dense: units must be a positive integer (got %s)",
                          lua_isnone(L, 1) ? "nothing" : luaL_tolstring(L, 1, NULL));
    const char *act = luaL_optstring(L, 2, "linear");
    if (activation_from_name(act) < 0)
        return luaL_error(L, "nn.dense: activation \"%s\" unknown (%s)", act, activation_names());
    push_spec(L, "dense");
    lua_pushinteger(L, units);
    lua_setfield(L, -2, "units");
    lua_pushstring(L, act);
    lua_setfield(L, -2, "activation");
    return 1;
}

static int nn_flatten(lua_State *L)
{
    push_spec(L, "flatten");
    return 1;
}

/* nn.dropout(rate): zeroes that share of its inputs while training. */
static int nn_dropout(lua_State *L)
{
    double rate = luaL_checknumber(L, 1);
    if (!(rate >= 0.0 && rate < 1.0))
        return luaL_error(L, "nn.dropout: rate must be in [0, 1) (got %s)", luaL_tolstring(L, 1, NULL));
    push_spec(L, "dropout");
    lua_pushnumber(L, rate);
    lua_setfield(L, -2, "rate");
    return 1;
}

static int layerspec_tostring(lua_State *L)
{
    lua_getfield(L, 1, "kind");
    const char *kind = lua_tostring(L, -1);
    if (kind && strcmp(kind, "dense") == 0) {
        lua_getfield(L, 1, "units");
        lua_getfield(L, 1, "activation");
        lua_pushfstring(L, "nn.dense(%d, \"%s\")", (int)lua_tointeger(L, -2), lua_tostring(L, -1));
    } else if (kind && strcmp(kind, "dropout") == 0) {
        lua_getfield(L, 1, "rate");
        lua_pushfstring(L, "nn.dropout(%f)", lua_tonumber(L, -1));
    } else {
        lua_pushfstring(L, "nn.%s()", kind ? kind : "?");
    }
    return 1;
}

/* ---- optimizer specs --------------------------------------------------- */

static int push_optimizer(lua_State *L, optimizer_kind kind)
{
    static const char *const keys[] = {"lr", "learning_rate", "momentum", "nesterov",
                                       "beta_1", "beta_2", "rho", "epsilon", NULL};
    char fname[32];
    snprintf(fname, sizeof fname, "nn.%s", optimizer_name(kind));
    optimizer_spec s = optimizer_defaults(kind);
    if (!lua_isnoneornil(L, 1)) {
        luaL_checktype(L, 1, LUA_TTABLE);
        check_keys(L, 1, fname, keys);
        s.learning_rate = (float)opt_number(L, 1, "lr", fname,
                                            opt_number(L, 1, "learning_rate", fname, s.learning_rate));
        s.momentum = (float)opt_number(L, 1, "momentum", fname, s.momentum);
        s.nesterov = opt_boolean(L, 1, "nesterov", s.nesterov);
        s.beta_1 = (float)opt_number(L, 1, "beta_1", fname, s.beta_1);
        s.beta_2 = (float)opt_number(L, 1, "beta_2", fname, s.beta_2);
        s.rho = (float)opt_number(L, 1, "rho", fname, s.rho);
        s.epsilon = (float)opt_number(L, 1, "epsilon", fname, s.epsilon);
    }
    char err[EMBER_ERR_SIZE];
    if (optimizer_check(&s, err) < 0)
        return luaL_error(L, "nn.%s", err);   /* err starts with the optimizer's name */
    lua_newtable(L);
    lua_pushstring(L, optimizer_name(kind));
    lua_setfield(L, -2, "name");
    lua_pushnumber(L, s.learning_rate);
    lua_setfield(L, -2, "lr");
    if (kind == OPT_SGD) {
        lua_pushnumber(L, s.momentum);
        lua_setfield(L, -2, "momentum");
        lua_pushboolean(L, s.nesterov);
        lua_setfield(L, -2, "nesterov");
    } else if (kind == OPT_ADAM) {
        lua_pushnumber(L, s.beta_1);
        lua_setfield(L, -2, "beta_1");
        lua_pushnumber(L, s.beta_2);
        lua_setfield(L, -2, "beta_2");
    } else {
        lua_pushnumber(L, s.rho);
        lua_setfield(L, -2, "rho");
    }
    if (kind != OPT_SGD) {
        lua_pushnumber(L, s.epsilon);
        lua_setfield(L, -2, "epsilon");
    }
    luaL_setmetatable(L, OPTSPEC_MT);
    return 1;
}

static int nn_adam(lua_State *L) { return push_optimizer(L, OPT_ADAM); }
static int nn_sgd(lua_State *L) { return push_optimizer(L, OPT_SGD); }
static int nn_rmsprop(lua_State *L) { return push_optimizer(L, OPT_RMSPROP); }

/* The optimizer_spec an OptimizerSpec table (at idx) describes. */
static optimizer_spec optimizer_from_table(lua_State *L, int idx)
{
    lua_getfield(L, idx, "name");
    optimizer_spec s = optimizer_defaults((optimizer_kind)optimizer_from_name(lua_tostring(L, -1)));
    lua_pop(L, 1);
    s.learning_rate = (float)opt_number(L, idx, "lr", "optimizer", s.learning_rate);
    s.momentum = (float)opt_number(L, idx, "momentum", "optimizer", s.momentum);
    s.nesterov = opt_boolean(L, idx, "nesterov", s.nesterov);
    s.beta_1 = (float)opt_number(L, idx, "beta_1", "optimizer", s.beta_1);
    s.beta_2 = (float)opt_number(L, idx, "beta_2", "optimizer", s.beta_2);
    s.rho = (float)opt_number(L, idx, "rho", "optimizer", s.rho);
    s.epsilon = (float)opt_number(L, idx, "epsilon", "optimizer", s.epsilon);
    return s;
}

/* ---- models: construction ---------------------------------------------- */

static lmodel *check_model(lua_State *L, int arg)
{
    return luaL_checkudata(L, arg, MODEL_MT);
}

static bool is_layerspec(lua_State *L, int idx)
{
    if (!lua_istable(L, idx) || !lua_getmetatable(L, idx))
        return false;
    luaL_getmetatable(L, LAYERSPEC_MT);
    bool same = lua_rawequal(L, -1, -2);
    lua_pop(L, 2);
    return same;
}

static void require_compiled(lua_State *L, const lmodel *lm, const char *fname)
{
    if (!lm->m.compiled)
        luaL_error(L, "%s: the model is not compiled: call m:compile { optimizer = \"adam\", "
                      "loss = \"sparse_categorical_crossentropy\", metrics = { \"accuracy\" } } first", fname);
}

/* nn.sequential { layer, ... } */
static int nn_sequential(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TTABLE);
    if (!lua_isnoneornil(L, 2))
        return luaL_error(L, "nn.sequential: takes one table of layers; build for an input shape with m:build{28, 28}");
    lua_settop(L, 1);
    lua_Integer n = luaL_len(L, 1);
    if (n < 1)
        return luaL_error(L, "nn.sequential: give it a list of layers, e.g. "
                             "nn.sequential { nn.flatten(), nn.dense(10, \"softmax\") }");

    /* A safe, empty model first: __gc can always run. */
    lmodel *lm = lua_newuserdatauv(L, sizeof *lm, MODEL_UVALUES);
    memset(lm, 0, sizeof *lm);
    luaL_setmetatable(L, MODEL_MT);
    ember_ctx *ctx = bind_ctx(L);
    uint64_t seed = (uint64_t)rng_u32(&ctx->seeds) << 32 | rng_u32(&ctx->seeds);
    model_init(&lm->m, seed);
    lm->ready = true;
    lm->batch_size = 32;
    lua_newtable(L);
    luaL_setmetatable(L, HISTORY_MT);
    lua_setiuservalue(L, -2, UV_HISTORY);

    char err[EMBER_ERR_SIZE];
    for (lua_Integer i = 1; i <= n; i++) {
        lua_geti(L, 1, i);
        if (!is_layerspec(L, -1))
            return luaL_error(L, "nn.sequential: item %d is a %s, not a layer (nn.dense, nn.flatten, nn.dropout)",
                              (int)i, luaL_typename(L, -1));
        lua_settop(L, 3);   /* layers, model, spec */
        lua_getfield(L, 3, "kind");
        const char *kind = lua_tostring(L, -1);
        int status;
        if (strcmp(kind, "dense") == 0) {
            lua_getfield(L, 3, "units");
            lua_getfield(L, 3, "activation");
            status = model_add_dense(&lm->m, (int)lua_tointeger(L, -2),
                                     (activation)activation_from_name(lua_tostring(L, -1)), err);
        } else if (strcmp(kind, "dropout") == 0) {
            lua_getfield(L, 3, "rate");
            status = model_add_dropout(&lm->m, (float)lua_tonumber(L, -1), err);
        } else {
            status = model_add_flatten(&lm->m, err);
        }
        if (status < 0)
            return bind_error(L, "nn.sequential", err);
        lua_settop(L, 2);
    }
    if (lm->m.layers[lm->m.n_layers - 1].kind != LAYER_DENSE)
        return luaL_error(L, "nn.sequential: the last layer must be nn.dense: its units are the outputs "
                             "the loss compares with the labels");
    return 1;
}

static void raise_core(lua_State *L, const char *fname, const char *err)
{
    bind_error(L, fname, err);
}

/* The shape given as a table {28, 28} or as numbers, into shape[3]. */
static int read_shape(lua_State *L, int arg, const char *fname, int *shape)
{
    int rank = 0;
    if (lua_istable(L, arg)) {
        lua_Integer n = luaL_len(L, arg);
        if (n < 1 || n > 3)
            luaL_error(L, "%s: an input shape has 1 to 3 dimensions (got %d)", fname, (int)n);
        for (lua_Integer i = 1; i <= n; i++) {
            lua_geti(L, arg, i);
            int isint;
            lua_Integer d = lua_tointegerx(L, -1, &isint);
            if (!isint || d < 1 || d > INT32_MAX)
                luaL_error(L, "%s: dimension %d must be a positive integer (got %s)", fname, (int)i,
                           luaL_tolstring(L, -1, NULL));
            shape[rank++] = (int)d;
            lua_pop(L, 1);
        }
    } else {
        for (int i = arg; !lua_isnoneornil(L, i); i++) {
            if (rank == 3)
                luaL_error(L, "%s: an input shape has 1 to 3 dimensions", fname);
            lua_Integer d = luaL_checkinteger(L, i);
            luaL_argcheck(L, d >= 1 && d <= INT32_MAX, i, "a positive dimension expected");
            shape[rank++] = (int)d;
        }
        if (rank == 0)
            luaL_error(L, "%s: give the input shape of one sample, e.g. {28, 28}", fname);
    }
    return rank;
}

/* m:build{28, 28}: fix the input shape and draw the weights now. */
static int model_build_lua(lua_State *L)
{
    lmodel *lm = check_model(L, 1);
    int shape[3];
    int rank = read_shape(L, 2, "m:build", shape);
    char err[EMBER_ERR_SIZE];
    if (model_build(&lm->m, rank, shape, err) < 0)
        raise_core(L, "m:build", err);
    return 0;
}

/* ---- compile ----------------------------------------------------------- */

static loss_kind read_loss(lua_State *L, int idx, bool *from_logits)
{
    const char *name;
    *from_logits = false;
    if (lua_istable(L, idx)) {
        static const char *const keys[] = {"from_logits", NULL};
        lua_geti(L, idx, 1);
        name = lua_tostring(L, -1);
        lua_pop(L, 1);
        check_keys(L, idx, "m:compile: loss", keys);
        *from_logits = opt_boolean(L, idx, "from_logits", false);
    } else {
        name = lua_tostring(L, idx);
    }
    if (!name)
        luaL_error(L, "m:compile: loss must be a name such as \"sparse_categorical_crossentropy\", "
                      "or { name, from_logits = true } (got %s)", luaL_typename(L, idx));
    int k = loss_from_name(name);
    if (k < 0)
        luaL_error(L, "m:compile: loss \"%s\" unknown (%s)", name, loss_names());
    return (loss_kind)k;
}

/* Keras's "accuracy" names the right metric for each loss; the explicit
 * names must fit the loss. tf.keras.metrics.Accuracy() (exact equality of
 * outputs and labels) is the forum post's trap: say so. */
static bool read_metrics(lua_State *L, int idx, loss_kind loss)
{
    if (lua_isnil(L, idx))
        return false;
    if (lua_type(L, idx) == LUA_TSTRING)
        luaL_error(L, "m:compile: metrics is a list: metrics = { \"%s\" }", lua_tostring(L, idx));
    luaL_checktype(L, idx, LUA_TTABLE);
    static const char *const fits[LOSS_COUNT] = {
        [LOSS_SPARSE_CATEGORICAL_CROSSENTROPY] = "sparse_categorical_accuracy",
        [LOSS_CATEGORICAL_CROSSENTROPY] = "categorical_accuracy",
        [LOSS_BINARY_CROSSENTROPY] = "binary_accuracy",
        [LOSS_MSE] = "categorical_accuracy",
    };
    bool accuracy = false;
    lua_Integer n = luaL_len(L, idx);
    for (lua_Integer i = 1; i <= n; i++) {
        lua_geti(L, idx, i);
        const char *name = lua_tostring(L, -1);
        if (!name)
            luaL_error(L, "m:compile: metric %d must be a name such as \"accuracy\" (got %s)", (int)i,
                       luaL_typename(L, -1));
        if (strcmp(name, "accuracy") == 0 || strcmp(name, "acc") == 0 || strcmp(name, fits[loss]) == 0) {
            accuracy = true;
        } else if (strcmp(name, "Accuracy") == 0) {
            luaL_error(L, "m:compile: metric \"Accuracy\" is Keras's tf.keras.metrics.Accuracy(), which counts "
                          "outputs exactly equal to the labels and never fits probabilities: use \"accuracy\", "
                          "which for %s is %s", loss_name(loss), fits[loss]);
        } else if (strstr(name, "accuracy")) {
            luaL_error(L, "m:compile: metric \"%s\" does not fit %s: use \"accuracy\" (that is, %s)", name,
                       loss_name(loss), fits[loss]);
        } else {
            luaL_error(L, "m:compile: metric \"%s\" unknown (accuracy)", name);
        }
        lua_pop(L, 1);
    }
    return accuracy;
}

/* m:compile { optimizer =, loss =, metrics =, batch_size =, data = } */
static int model_compile_lua(lua_State *L)
{
    static const char *const keys[] = {"optimizer", "loss", "metrics", "batch_size", "data", NULL};
    lmodel *lm = check_model(L, 1);
    luaL_checktype(L, 2, LUA_TTABLE);
    check_keys(L, 2, "m:compile", keys);

    lua_getfield(L, 2, "optimizer");
    optimizer_spec opt;
    if (lua_isnil(L, -1)) {
        return luaL_error(L, "m:compile: optimizer missing: optimizer = \"adam\" (%s), or nn.adam { lr = 1e-4 }",
                          optimizer_names());
    } else if (lua_type(L, -1) == LUA_TSTRING) {
        int k = optimizer_from_name(lua_tostring(L, -1));
        if (k < 0)
            return luaL_error(L, "m:compile: optimizer \"%s\" unknown (%s)", lua_tostring(L, -1), optimizer_names());
        opt = optimizer_defaults((optimizer_kind)k);
    } else if (luaL_testudata(L, -1, OPTSPEC_MT) || lua_istable(L, -1)) {
        lua_getfield(L, -1, "name");
        bool named = optimizer_from_name(lua_tostring(L, -1) ? lua_tostring(L, -1) : "") >= 0;
        lua_pop(L, 1);
        if (!named)
            return luaL_error(L, "m:compile: optimizer must be a name (%s) or made by nn.adam, nn.sgd, nn.rmsprop",
                              optimizer_names());
        opt = optimizer_from_table(L, lua_gettop(L));
    } else {
        return luaL_error(L, "m:compile: optimizer must be a name (%s) or nn.adam{...} (got %s)",
                          optimizer_names(), luaL_typename(L, -1));
    }
    lua_pop(L, 1);

    lua_getfield(L, 2, "loss");
    if (lua_isnil(L, -1))
        return luaL_error(L, "m:compile: loss missing: loss = \"sparse_categorical_crossentropy\" (%s)", loss_names());
    bool from_logits;
    loss_kind kind = read_loss(L, lua_gettop(L), &from_logits);
    lua_pop(L, 1);

    lua_getfield(L, 2, "metrics");
    bool accuracy = read_metrics(L, lua_gettop(L), kind);
    lua_pop(L, 1);

    int batch = (int)opt_integer(L, 2, "batch_size", "m:compile", 32, 1);
    lua_getfield(L, 2, "data");
    if (!lua_isnil(L, -1))
        dataset_check(L, lua_gettop(L));

    char err[EMBER_ERR_SIZE];
    if (model_compile(&lm->m, (loss){kind, from_logits}, opt, err) < 0)
        raise_core(L, "m:compile", err);
    lm->accuracy = accuracy;
    lm->batch_size = batch;
    if (!lua_isnil(L, -1))
        lua_setiuservalue(L, 1, UV_DATA);
    return 0;
}

/* ---- training ---------------------------------------------------------- */

typedef struct fit_state {
    lua_State *L;
    lmodel    *lm;
    ember_ctx *ctx;
    int        model_idx;
    int        verbose;         /* 0 quiet, 1 progress bar, 2 a line per epoch */
    bool       tty;
    double     call_start;      /* when the training call began */
    double     last_event;      /* when the previous batch ended */
    double     epoch_start, last_draw;
    int64_t    first_batch;     /* batches of the epoch done before the clock started */
    bool       started;
    int        on_batch, on_epoch;   /* stack indices of callbacks, or 0 */
    int        fit_history;     /* stack index of fit's own history, or 0 */
    int        error_ref;       /* a callback's error, LUA_NOREF if none */
    bool       callback_stop;   /* a callback returned false */
    bool       interrupted;
    int        data_idx;        /* stack index of the training data */
    bool       validating;      /* the epoch line waits for val_loss */
} fit_state;

/* history[key][i] = value, where i is the row of the latest epoch (or
 * a new row for "epoch" itself): every list stays aligned with
 * history.epoch, with NaN for earlier epochs that had no such figure
 * (validation asked for later), so each list is a proper sequence. */
static void history_append(lua_State *L, int history, const char *key, double value)
{
    lua_getfield(L, history, "epoch");
    lua_Integer row = lua_istable(L, -1) ? luaL_len(L, -1) : 0;
    lua_pop(L, 1);
    if (strcmp(key, "epoch") == 0)
        row++;
    lua_getfield(L, history, key);
    if (lua_isnil(L, -1)) {
        lua_pop(L, 1);
        lua_newtable(L);
        lua_pushvalue(L, -1);
        lua_setfield(L, history, key);
    }
    for (lua_Integer i = luaL_len(L, -1) + 1; i < row; i++) {
        lua_pushnumber(L, NAN);
        lua_seti(L, -2, i);
    }
    if (strcmp(key, "epoch") == 0)
        lua_pushinteger(L, (lua_Integer)value);
    else
        lua_pushnumber(L, value);
    lua_seti(L, -2, row);
    lua_pop(L, 1);
}

static void push_logs(lua_State *L, const train_event *ev, bool accuracy)
{
    lua_createtable(L, 0, 5);
    lua_pushinteger(L, ev->epoch + 1);
    lua_setfield(L, -2, "epoch");
    lua_pushinteger(L, ev->batch);
    lua_setfield(L, -2, "batch");
    lua_pushnumber(L, ev->epoch_logs.loss);
    lua_setfield(L, -2, "loss");
    if (accuracy) {
        lua_pushnumber(L, ev->epoch_logs.accuracy);
        lua_setfield(L, -2, "accuracy");
    }
    lua_pushinteger(L, ev->epoch_logs.samples);
    lua_setfield(L, -2, "samples");
}

/* Calls the callback at idx with (model, extra..., logs) under pcall.
 * Returns false when training should stop. */
static bool call_back(fit_state *s, int idx, const train_event *ev, bool with_epoch)
{
    lua_State *L = s->L;
    lua_pushvalue(L, idx);
    lua_pushvalue(L, s->model_idx);
    int nargs = 2;
    if (with_epoch) {
        lua_pushinteger(L, ev->epoch + 1);
        nargs++;
    }
    push_logs(L, ev, s->lm->accuracy);
    if (lua_pcall(L, nargs, 1, 0) != LUA_OK) {
        if (s->ctx->interrupted != INTERRUPT_NONE) {   /* Ctrl-C hit the callback */
            lua_pop(L, 1);
            s->interrupted = true;
            return false;
        }
        s->error_ref = luaL_ref(L, LUA_REGISTRYINDEX);
        return false;
    }
    bool go_on = !(lua_isboolean(L, -1) && !lua_toboolean(L, -1));
    lua_pop(L, 1);
    if (!go_on)
        s->callback_stop = true;
    return go_on;
}

static void draw_progress(fit_state *s, const train_event *ev, double t)
{
    bool bar = s->verbose == 1;
    if (!ev->epoch_end && !(bar && s->tty && t - s->last_draw > 0.1))
        return;
    progress_metric metrics[2] = {{"loss", ev->epoch_logs.loss}, {"accuracy", ev->epoch_logs.accuracy}};
    char line[256];
    term_progress(line, sizeof line,
                  &(progress_line){.done = ev->batch, .total = ev->batches_per_epoch,
                                   .timed = ev->batch - s->first_batch, .elapsed = t - s->epoch_start,
                                   .finished = ev->epoch_end, .bar_width = bar ? 30 : 0,
                                   .metrics = metrics, .n_metrics = s->lm->accuracy ? 2 : 1});
    const char *end = ev->epoch_end && !s->validating ? "\n" : "";
    if (s->tty && bar)
        printf("\r%s\033[K%s", line, end);
    else if (ev->epoch_end)
        printf("%s%s", line, end);
    else
        printf("%s\n", line);
    fflush(stdout);
    s->last_draw = t;
}

static int observe(void *data, model *m, const train_event *ev)
{
    (void)m;
    fit_state *s = data;
    lua_State *L = s->L;
    double t = now();
    if (ev->batch == 1 || !s->started) {
        /* The clock of this epoch (or of its rest, when resumed). */
        s->epoch_start = s->started ? s->last_event : s->call_start;
        s->first_batch = ev->batch == 1 ? 0 : ev->batch - 1;
        s->started = true;
    }
    if (s->verbose)
        draw_progress(s, ev, t);
    s->last_event = t;
    if (ev->epoch_end) {
        lua_getiuservalue(L, s->model_idx, UV_HISTORY);
        int h = lua_gettop(L);
        history_append(L, h, "epoch", (double)(ev->epoch + 1));
        history_append(L, h, "loss", ev->epoch_logs.loss);
        if (s->lm->accuracy)
            history_append(L, h, "accuracy", ev->epoch_logs.accuracy);
        lua_pop(L, 1);
        if (s->fit_history) {
            history_append(L, s->fit_history, "epoch", (double)(ev->epoch + 1));
            history_append(L, s->fit_history, "loss", ev->epoch_logs.loss);
            if (s->lm->accuracy)
                history_append(L, s->fit_history, "accuracy", ev->epoch_logs.accuracy);
        }
    }
    /* Ctrl-C: stop here, between two batches. */
    if (s->ctx->interrupted == INTERRUPT_PENDING) {
        s->interrupted = true;
        return 1;
    }
    if (s->on_batch && !call_back(s, s->on_batch, ev, false))
        return 1;
    if (ev->epoch_end && s->on_epoch && !call_back(s, s->on_epoch, ev, true))
        return 1;
    return 0;
}

/* The dataset to train on: the argument, or the one bound by compile{data}
 * or an earlier training call. Pushes it and records its stack index in
 * s->data_idx; finish_training binds it once training has started. */
static const dataset *training_data(lua_State *L, int arg, const char *fname, int *data_idx)
{
    if (dataset_test(L, arg)) {
        lua_pushvalue(L, arg);
    } else {
        if (!lua_isnoneornil(L, arg) && !lua_istable(L, arg))
            luaL_error(L, "%s: expected a dataset (got %s)", fname, luaL_typename(L, arg));
        lua_getiuservalue(L, 1, UV_DATA);
        if (!dataset_test(L, -1))
            luaL_error(L, "%s: no training data: pass a dataset, e.g. m:%s(train), or compile with data = train",
                       fname, strrchr(fname, ':') ? strrchr(fname, ':') + 1 : fname);
    }
    *data_idx = lua_gettop(L);
    return dataset_test(L, -1);
}

static void setup_state(lua_State *L, fit_state *s, lmodel *lm, int opts, int default_verbose,
                        const char *fname)
{
    memset(s, 0, sizeof *s);
    s->L = L;
    s->lm = lm;
    s->ctx = bind_ctx(L);
    if (s->ctx->interrupted == INTERRUPT_RAISED)   /* an earlier, handled Ctrl-C */
        s->ctx->interrupted = INTERRUPT_NONE;
    s->model_idx = 1;
    s->error_ref = LUA_NOREF;
    s->call_start = now();
    s->tty = isatty(STDOUT_FILENO);
    s->verbose = (int)opt_integer(L, opts, "verbose", fname, default_verbose, 0);
    if (s->verbose > 2)
        luaL_error(L, "%s: verbose must be 0, 1 or 2 (got %d)", fname, s->verbose);
    if (opts) {
        lua_getfield(L, opts, "on_batch_end");
        if (!lua_isnil(L, -1)) {
            luaL_checktype(L, -1, LUA_TFUNCTION);
            s->on_batch = lua_gettop(L);
        } else {
            lua_pop(L, 1);
        }
        lua_getfield(L, opts, "on_epoch_end");
        if (!lua_isnil(L, -1)) {
            luaL_checktype(L, -1, LUA_TFUNCTION);
            s->on_epoch = lua_gettop(L);
        } else {
            lua_pop(L, 1);
        }
    }
}

/* After training: the data is bound for m:step and m:epoch unless training
 * was refused; a callback's error or Ctrl-C becomes a Lua error, with the
 * model consistent and the cursor where training stopped. */
static void finish_training(lua_State *L, fit_state *s, int status, const char *fname, const char *err)
{
    if (status == 0 || s->interrupted || s->error_ref != LUA_NOREF) {
        lua_pushvalue(L, s->data_idx);
        lua_setiuservalue(L, 1, UV_DATA);
    }
    if (s->error_ref != LUA_NOREF) {
        lua_rawgeti(L, LUA_REGISTRYINDEX, s->error_ref);
        luaL_unref(L, LUA_REGISTRYINDEX, s->error_ref);
        lua_error(L);
    }
    if (s->interrupted) {
        const train_cursor *c = &s->lm->m.cursor;
        s->ctx->interrupted = INTERRUPT_NONE;
        lua_sethook(L, NULL, 0, 0);
        if (s->tty && s->verbose == 1)
            printf("\n");
        if (c->batch > 0)
            luaL_error(L, "%s: interrupted in epoch %d at batch %d/%d (%d samples seen); the model is "
                          "consistent and m:epoch() carries on from there", fname, (int)c->epoch + 1,
                       (int)c->batch, (int)((c->count + c->batch_size - 1) / c->batch_size), (int)c->seen);
        luaL_error(L, "%s: interrupted after epoch %d (%d samples seen); the model is consistent",
                   fname, (int)c->epoch, (int)c->seen);
    }
    if (status < 0) {
        if (s->tty && s->verbose == 1 && s->started)
            printf("\n");   /* end the progress line before the message */
        raise_core(L, fname, err);
    }
}

static void push_train_logs(lua_State *L, const lmodel *lm, const train_logs *logs)
{
    lua_createtable(L, 0, 5);
    lua_pushnumber(L, logs->loss);
    lua_setfield(L, -2, "loss");
    if (lm->accuracy) {
        lua_pushnumber(L, logs->accuracy);
        lua_setfield(L, -2, "accuracy");
    }
    lua_pushinteger(L, logs->samples);
    lua_setfield(L, -2, "samples");
    lua_pushinteger(L, logs->batches);
    lua_setfield(L, -2, "batches");
    lua_pushinteger(L, lm->m.cursor.epoch + (lm->m.cursor.batch > 0));
    lua_setfield(L, -2, "epoch");
    luaL_setmetatable(L, LOGS_MT);
}

static const char *const train_keys[] = {"batch_size", "verbose", "shuffle", "on_batch_end",
                                         "on_epoch_end", NULL};

/* m:step([n [, data [, opts]]]): the next n batches (1 if not given). */
static int model_step(lua_State *L)
{
    lmodel *lm = check_model(L, 1);
    lua_Integer n = luaL_optinteger(L, 2, 1);
    luaL_argcheck(L, n >= 1, 2, "the number of batches must be at least 1");
    int opts = lua_istable(L, 3) && !dataset_test(L, 3) ? 3 : lua_istable(L, 4) ? 4 : 0;
    if (opts)
        check_keys(L, opts, "m:step", train_keys);
    require_compiled(L, lm, "m:step");
    int data_idx;
    const dataset *ds = training_data(L, 3, "m:step", &data_idx);
    fit_state s;
    setup_state(L, &s, lm, opts, 0, "m:step");
    s.data_idx = data_idx;
    train_options o = {.batch_size = (int)opt_integer(L, opts, "batch_size", "m:step", lm->batch_size, 1),
                       .no_shuffle = !opt_boolean(L, opts, "shuffle", true),
                       .observe = observe, .observer_data = &s};
    sample_source src = dataset_source(ds);
    train_logs logs;
    bool stopped;
    char err[EMBER_ERR_SIZE];
    int status = train_steps(&lm->m, &src, &o, n, false, &logs, &stopped, err);
    finish_training(L, &s, status, "m:step", err);
    push_train_logs(L, lm, &logs);
    return 1;
}

/* Validation after an epoch, into the logs and both histories. */
static void validate(lua_State *L, lmodel *lm, const dataset *val, int fit_history, int batch,
                     train_logs *out)
{
    sample_source src = dataset_source(val);
    char err[EMBER_ERR_SIZE];
    if (model_evaluate(&lm->m, &src, batch, out, err) < 0)
        raise_core(L, "validation", err);
    lua_getiuservalue(L, 1, UV_HISTORY);
    history_append(L, lua_gettop(L), "val_loss", out->loss);
    if (lm->accuracy)
        history_append(L, lua_gettop(L), "val_accuracy", out->accuracy);
    lua_pop(L, 1);
    if (fit_history) {
        history_append(L, fit_history, "val_loss", out->loss);
        if (lm->accuracy)
            history_append(L, fit_history, "val_accuracy", out->accuracy);
    }
}

/* One epoch (or the rest of the current one) with progress and options. */
static int run_epoch(lua_State *L, lmodel *lm, const dataset *ds, int opts, fit_state *s,
                     const dataset *val, train_logs *logs, const char *fname)
{
    train_options o = {.batch_size = (int)opt_integer(L, opts, "batch_size", fname, lm->batch_size, 1),
                       .no_shuffle = !opt_boolean(L, opts, "shuffle", true),
                       .observe = observe, .observer_data = s};
    sample_source src = dataset_source(ds);
    bool stopped;
    char err[EMBER_ERR_SIZE];
    int on_epoch = s->on_epoch;
    if (val)
        s->on_epoch = 0;   /* called below, once validation is in the logs */
    s->validating = val != NULL;
    int status = train_epoch(&lm->m, &src, &o, logs, &stopped, err);
    s->on_epoch = on_epoch;
    s->validating = false;
    if (val && s->verbose && (status < 0 || stopped))
        printf("\n");   /* the epoch line waited for validation that will not come */
    finish_training(L, s, status, fname, err);
    if (stopped)
        return 0;
    if (val) {
        train_logs v;
        validate(L, lm, val, s->fit_history, 256, &v);
        if (s->verbose)
            printf(lm->accuracy ? " - val_loss: %.4f - val_accuracy: %.4f\n" : " - val_loss: %.4f\n", v.loss,
                   v.accuracy);
        if (on_epoch) {
            train_event ev = {.epoch = lm->m.cursor.epoch - 1, .batch = logs->batches, .epoch_end = true,
                              .epoch_logs = *logs};
            lua_pushvalue(L, on_epoch);
            lua_pushvalue(L, 1);
            lua_pushinteger(L, ev.epoch + 1);
            push_logs(L, &ev, lm->accuracy);
            lua_pushnumber(L, v.loss);
            lua_setfield(L, -2, "val_loss");
            if (lm->accuracy) {
                lua_pushnumber(L, v.accuracy);
                lua_setfield(L, -2, "val_accuracy");
            }
            lua_call(L, 3, 1);
            bool stop = lua_isboolean(L, -1) && !lua_toboolean(L, -1);
            lua_pop(L, 1);
            if (stop)
                return 0;
        }
    }
    return 1;
}

/* What m:epoch and m:fit share before training: the option keys, a
 * compiled model, the data (argument data_arg or the bound set) and the
 * validation set, and the fit_state. Returns the training data. */
static const dataset *prepare_training(lua_State *L, lmodel *lm, int opts, int data_arg,
                                       const char *const *keys, const char *fname,
                                       fit_state *s, const dataset **val)
{
    if (opts)
        check_keys(L, opts, fname, keys);
    require_compiled(L, lm, fname);
    int data_idx;
    const dataset *ds = training_data(L, data_arg, fname, &data_idx);
    *val = NULL;
    if (opts) {
        lua_getfield(L, opts, "validation_data");
        *val = lua_isnil(L, -1) ? NULL : dataset_check(L, -1);
    }
    setup_state(L, s, lm, opts, 1, fname);
    s->data_idx = data_idx;
    return ds;
}

/* m:epoch([data [, opts]]): the rest of the current epoch, or a whole one. */
static int model_epoch(lua_State *L)
{
    static const char *const keys[] = {"batch_size", "verbose", "shuffle", "on_batch_end",
                                       "on_epoch_end", "validation_data", NULL};
    lmodel *lm = check_model(L, 1);
    int opts = lua_istable(L, 2) && !dataset_test(L, 2) ? 2 : lua_istable(L, 3) ? 3 : 0;
    fit_state s;
    const dataset *val;
    const dataset *ds = prepare_training(L, lm, opts, 2, keys, "m:epoch", &s, &val);
    train_logs logs;
    run_epoch(L, lm, ds, opts, &s, val, &logs, "m:epoch");
    push_train_logs(L, lm, &logs);
    return 1;
}

/* m:fit(data [, { epochs =, batch_size =, verbose =, ... }]) -> history */
static int model_fit(lua_State *L)
{
    static const char *const keys[] = {"epochs", "batch_size", "verbose", "shuffle", "on_batch_end",
                                       "on_epoch_end", "validation_data", NULL};
    lmodel *lm = check_model(L, 1);
    if (!dataset_test(L, 2))
        return luaL_error(L, "m:fit: the first argument must be a dataset, e.g. m:fit(train, { epochs = 5 }) "
                             "(got %s); for tensors use m:train_batch(x, y)", luaL_typename(L, 2));
    int opts = lua_istable(L, 3) ? 3 : 0;
    if (!lua_isnoneornil(L, 3) && !opts)
        return luaL_error(L, "m:fit: options must be a table such as { epochs = 5 } (got %s)", luaL_typename(L, 3));
    fit_state s;
    const dataset *val;
    const dataset *ds = prepare_training(L, lm, opts, 2, keys, "m:fit", &s, &val);
    lua_Integer epochs = opt_integer(L, opts, "epochs", "m:fit", 1, 0);
    lua_newtable(L);
    luaL_setmetatable(L, HISTORY_MT);
    s.fit_history = lua_gettop(L);
    for (lua_Integer e = 1; e <= epochs; e++) {
        if (s.verbose)
            printf("Epoch %d/%d\n", (int)e, (int)epochs);
        train_logs logs;
        if (!run_epoch(L, lm, ds, opts, &s, val, &logs, "m:fit"))
            break;
    }
    lua_pushvalue(L, s.fit_history);
    return 1;
}

/* ---- inputs from Lua values -------------------------------------------- */

static void shape_text(char *buf, size_t size, int rank, const int *shape)
{
    ember_shape_text(buf, size, rank, shape);
}

/* How many samples the tensor at arg holds for this model: its shape is
 * one sample's, or a batch of them. Builds an unbuilt model as a batch. */
static int tensor_rows(lua_State *L, lmodel *lm, const tensor *t, const char *fname)
{
    model *m = &lm->m;
    char err[EMBER_ERR_SIZE];
    if (!m->built) {
        /* The bound training data says what one sample is; without it a
         * tensor is taken as a batch, as Keras builds on its first input. */
        lua_getiuservalue(L, 1, UV_DATA);
        const dataset *ds = dataset_test(L, -1);
        int status = ds ? model_build(m, ds->rank, ds->shape, err)
                        : t->rank >= 2 ? model_build(m, t->rank - 1, t->shape + 1, err) : 0;
        lua_pop(L, 1);
        if (!ds && t->rank < 2)
            luaL_error(L, "%s: the model is not built yet: give a batch (samples x features), "
                          "train it on a dataset, or call m:build{28, 28}", fname);
        if (status < 0)
            raise_core(L, fname, err);
    }
    if (t->rank == m->input_rank && memcmp(t->shape, m->input_shape, (size_t)t->rank * sizeof(int)) == 0)
        return 1;
    if (t->rank == m->input_rank + 1 &&
        memcmp(t->shape + 1, m->input_shape, (size_t)m->input_rank * sizeof(int)) == 0)
        return t->shape[0];
    char got[64], want[64];
    shape_text(got, sizeof got, t->rank, t->shape);
    shape_text(want, sizeof want, m->input_rank, m->input_shape);
    luaL_error(L, "%s: input of shape %s does not fit the model, which takes %s (one sample) or Nx%s (a batch)",
               fname, got, want, want);
    return 0;
}


/* Labels for n samples from a number, a sequence of integers or a tensor. */
static int32_t *read_labels(lua_State *L, int arg, int n, const char *fname)
{
    int32_t *labels = lua_newuserdatauv(L, (size_t)n * sizeof *labels, 0);
    const tensor *t = tensor_test(L, arg);
    for (int i = 0; i < n; i++) {
        double v;
        if (t) {
            if ((int)t->size != n)
                luaL_error(L, "%s: %d labels for %d samples", fname, (int)t->size, n);
            v = t->data[i];
        } else if (lua_isnumber(L, arg) && n == 1) {
            v = lua_tonumber(L, arg);
        } else if (lua_istable(L, arg)) {
            if (luaL_len(L, arg) != n)
                luaL_error(L, "%s: %d labels for %d samples", fname, (int)luaL_len(L, arg), n);
            lua_geti(L, arg, i + 1);
            v = lua_tonumber(L, -1);
            lua_pop(L, 1);
        } else {
            luaL_error(L, "%s: labels must be integers: a number, a table or a tensor (got %s)", fname,
                       luaL_typename(L, arg));
            return NULL;
        }
        if (v != floor(v) || v < INT32_MIN || v > INT32_MAX)
            luaL_error(L, "%s: label %d is %f, not an integer class label", fname, i + 1, v);
        labels[i] = (int32_t)v;
    }
    return labels;
}

/* m:train_batch(x, y) -> loss [, accuracy]: one step on any tensors. */
static int model_train_batch_lua(lua_State *L)
{
    lmodel *lm = check_model(L, 1);
    tensor *x = tensor_check(L, 2);
    require_compiled(L, lm, "m:train_batch");
    int rows = tensor_rows(L, lm, x, "m:train_batch");
    const tensor *yt = tensor_test(L, 3);
    int units = model_output_units(&lm->m);
    const float *targets = NULL;
    const int32_t *labels = NULL;
    if (yt && !loss_takes_labels(lm->m.loss.kind) && yt->size == (size_t)rows * units && units > 1)
        targets = yt->data;   /* rows x units targets */
    else
        labels = read_labels(L, 3, rows, "m:train_batch");
    batch_stats st;
    char err[EMBER_ERR_SIZE];
    if (model_train_batch(&lm->m, x->data, labels, targets, rows, &st, err) < 0)
        raise_core(L, "m:train_batch", err);
    lua_pushnumber(L, st.loss);
    if (!lm->accuracy)
        return 1;
    lua_pushnumber(L, st.correct / rows);
    return 2;
}

/* The outputs for a dataset or a tensor (one sample or a batch). */
static tensor *predict_outputs(lua_State *L, lmodel *lm, const char *fname)
{
    model *m = &lm->m;
    require_compiled(L, lm, fname);
    char err[EMBER_ERR_SIZE];
    int units = model_output_units(m);
    const dataset *ds = dataset_test(L, 2);
    if (ds) {
        if (!m->built && model_build(m, ds->rank, ds->shape, err) < 0)
            raise_core(L, fname, err);
        if (ds->features != (size_t)m->input_size) {
            char got[64], want[64];
            shape_text(got, sizeof got, ds->rank, ds->shape);
            shape_text(want, sizeof want, m->input_rank, m->input_shape);
            luaL_error(L, "%s: the data has samples of shape %s but the model takes %s", fname, got, want);
        }
        int shape[2] = {(int)ds->count, units};
        tensor *out = tensor_push(L, 2, shape);
        /* Through the model's own batch buffer, a batch at a time. */
        if (model_reserve(m, m->capacity > 256 ? m->capacity : 256, err) < 0)
            raise_core(L, fname, err);
        sample_source src = dataset_source(ds);
        uint32_t index[256];
        for (size_t first = 0; first < ds->count; first += 256) {
            size_t n = ds->count - first < 256 ? ds->count - first : 256;
            for (size_t i = 0; i < n; i++)
                index[i] = (uint32_t)(first + i);
            src.gather(src.ctx, index, n, m->x, m->labels);
            if (model_predict(m, m->x, n, out->data + first * units, err) < 0)
                raise_core(L, fname, err);
        }
        return out;
    }
    tensor *x = tensor_test(L, 2);
    if (!x)
        luaL_error(L, "%s: expected a tensor (one sample, or a batch) or a dataset (got %s)", fname,
                   luaL_typename(L, 2));
    int rows = tensor_rows(L, lm, x, fname);
    bool single = x->rank == m->input_rank;
    int shape[2] = {rows, units};
    tensor *out = single ? tensor_push(L, 1, &units) : tensor_push(L, 2, shape);
    if (model_predict(m, x->data, (size_t)rows, out->data, err) < 0)
        raise_core(L, fname, err);
    return out;
}

/* m:predict(x) -> tensor of outputs: units for one sample, n x units for a
 * batch or a dataset. Extra arguments (a label from ds[i]) are ignored. */
static int model_predict_lua(lua_State *L)
{
    lmodel *lm = check_model(L, 1);
    lua_settop(L, 2);
    predict_outputs(L, lm, "m:predict");
    return 1;
}

/* m:classify(x) -> the predicted label (the unit with the largest output),
 * or a sequence of them for a batch or a dataset. */
static int model_classify(lua_State *L)
{
    lmodel *lm = check_model(L, 1);
    lua_settop(L, 2);
    tensor *out = predict_outputs(L, lm, "m:classify");
    int units = model_output_units(&lm->m);
    if (out->rank == 1) {
        lua_pushinteger(L, argmax(out->data, units));
        return 1;
    }
    lua_createtable(L, out->shape[0], 0);
    for (int i = 0; i < out->shape[0]; i++) {
        lua_pushinteger(L, argmax(out->data + (size_t)i * units, units));
        lua_rawseti(L, -2, i + 1);
    }
    return 1;
}

/* m:evaluate(data [, { batch_size = }]) -> loss [, accuracy] */
static int model_evaluate_lua(lua_State *L)
{
    static const char *const keys[] = {"batch_size", NULL};
    lmodel *lm = check_model(L, 1);
    const dataset *ds = dataset_test(L, 2);
    if (!ds)
        return luaL_error(L, "m:evaluate: expected a dataset, e.g. m:evaluate(test) (got %s)", luaL_typename(L, 2));
    int opts = lua_istable(L, 3) ? 3 : 0;
    if (opts)
        check_keys(L, opts, "m:evaluate", keys);
    require_compiled(L, lm, "m:evaluate");
    int batch = (int)opt_integer(L, opts, "batch_size", "m:evaluate", 256, 1);
    if (!lm->m.built)
        return luaL_error(L, "m:evaluate: the model is not trained yet (not even built): train it first, "
                             "or call m:build{28, 28} to evaluate the initial weights");
    sample_source src = dataset_source(ds);
    train_logs logs;
    char err[EMBER_ERR_SIZE];
    if (model_evaluate(&lm->m, &src, batch, &logs, err) < 0)
        raise_core(L, "m:evaluate", err);
    lua_pushnumber(L, logs.loss);
    if (!lm->accuracy)
        return 1;
    lua_pushnumber(L, logs.accuracy);
    return 2;
}

/* ---- model fields and printing ----------------------------------------- */

static void push_layer(lua_State *L, int model_idx, int index)
{
    llayer *l = lua_newuserdatauv(L, sizeof *l, 1);
    l->index = index;
    lua_pushvalue(L, model_idx);
    lua_setiuservalue(L, -2, 1);
    luaL_setmetatable(L, LAYER_MT);
}

static void push_shape_table(lua_State *L, int rank, const int *shape)
{
    lua_createtable(L, rank, 0);
    for (int i = 0; i < rank; i++) {
        lua_pushinteger(L, shape[i]);
        lua_rawseti(L, -2, i + 1);
    }
}

static int model_index(lua_State *L)
{
    lmodel *lm = check_model(L, 1);
    const char *key = luaL_checkstring(L, 2);
    model *m = &lm->m;
    if (luaL_getmetafield(L, 1, "__methods") && (lua_getfield(L, -1, key), !lua_isnil(L, -1)))
        return 1;
    if (strcmp(key, "layers") == 0) {
        lua_createtable(L, m->n_layers, 0);
        for (int i = 0; i < m->n_layers; i++) {
            push_layer(L, 1, i);
            lua_rawseti(L, -2, i + 1);
        }
    } else if (strcmp(key, "history") == 0) {
        lua_getiuservalue(L, 1, UV_HISTORY);
    } else if (strcmp(key, "data") == 0) {
        lua_getiuservalue(L, 1, UV_DATA);
    } else if (strcmp(key, "cursor") == 0) {
        const train_cursor *c = &m->cursor;
        lua_createtable(L, 0, 4);
        lua_pushinteger(L, c->epoch);
        lua_setfield(L, -2, "epoch");
        lua_pushinteger(L, c->batch);
        lua_setfield(L, -2, "batch");
        lua_pushinteger(L, c->batch_size ? (lua_Integer)((c->count + c->batch_size - 1) / c->batch_size) : 0);
        lua_setfield(L, -2, "batches");
        lua_pushinteger(L, c->seen);
        lua_setfield(L, -2, "seen");
    } else if (strcmp(key, "params") == 0) {
        size_t n = 0;
        for (int i = 0; i < m->n_layers; i++)
            if (m->layers[i].kind == LAYER_DENSE)
                n += (size_t)(m->built ? m->layers[i].in : 0) * m->layers[i].units + m->layers[i].units;
        if (m->built)
            lua_pushinteger(L, (lua_Integer)n);
        else
            lua_pushnil(L);
    } else if (strcmp(key, "built") == 0) {
        lua_pushboolean(L, m->built);
    } else if (strcmp(key, "compiled") == 0) {
        lua_pushboolean(L, m->compiled);
    } else if (strcmp(key, "input_shape") == 0) {
        if (m->built)
            push_shape_table(L, m->input_rank, m->input_shape);
        else
            lua_pushnil(L);
    } else if (strcmp(key, "units") == 0) {
        lua_pushinteger(L, model_output_units(m));
    } else if (strcmp(key, "loss") == 0) {
        if (m->compiled)
            lua_pushstring(L, loss_name(m->loss.kind));
        else
            lua_pushnil(L);
    } else if (strcmp(key, "optimizer") == 0) {
        if (m->compiled)
            lua_pushstring(L, optimizer_name(m->opt.spec.kind));
        else
            lua_pushnil(L);
    } else if (strcmp(key, "metrics") == 0) {
        lua_newtable(L);
        if (lm->accuracy) {
            lua_pushliteral(L, "accuracy");
            lua_rawseti(L, -2, 1);
        }
    } else if (strcmp(key, "batch_size") == 0) {
        lua_pushinteger(L, lm->batch_size);
    } else {
        lua_pushnil(L);
    }
    return 1;
}

static int model_tostring(lua_State *L)
{
    lmodel *lm = check_model(L, 1);
    model *m = &lm->m;
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    luaL_addstring(&b, "Model: ");
    for (int i = 0; i < m->n_layers; i++) {
        const layer *l = &m->layers[i];
        if (i)
            luaL_addstring(&b, " -> ");
        if (l->kind == LAYER_DENSE)
            lua_pushfstring(L, "dense(%d, %s)", l->units, activation_name(l->act));
        else if (l->kind == LAYER_DROPOUT)
            lua_pushfstring(L, "dropout(%f)", (double)l->rate);
        else
            lua_pushliteral(L, "flatten");
        luaL_addvalue(&b);
    }
    if (m->built)
        lua_pushfstring(L, "; %d params", (int)m->n_params);
    else
        lua_pushliteral(L, "; not built");
    luaL_addvalue(&b);
    if (m->compiled)
        lua_pushfstring(L, "; %s, %s", optimizer_name(m->opt.spec.kind), loss_name(m->loss.kind));
    else
        lua_pushliteral(L, "; not compiled");
    luaL_addvalue(&b);
    const train_cursor *c = &m->cursor;
    int per_epoch = c->batch_size ? (int)((c->count + c->batch_size - 1) / c->batch_size) : 0;
    if (c->seen == 0)
        lua_pushliteral(L, "; not trained");
    else if (c->batch > 0)
        lua_pushfstring(L, "; in epoch %d at batch %d/%d, %d samples seen", (int)c->epoch + 1, (int)c->batch,
                        per_epoch, (int)c->seen);
    else
        lua_pushfstring(L, "; %d epoch%s done, %d samples seen", (int)c->epoch, c->epoch == 1 ? "" : "s",
                        (int)c->seen);
    luaL_addvalue(&b);
    luaL_pushresult(&b);
    return 1;
}

static int model_gc(lua_State *L)
{
    lmodel *lm = luaL_checkudata(L, 1, MODEL_MT);
    if (lm->ready)
        model_free(&lm->m);
    lm->ready = false;
    return 0;
}

/* ---- layers ------------------------------------------------------------ */

static const layer *check_layer(lua_State *L, int arg, lmodel **owner)
{
    llayer *l = luaL_checkudata(L, arg, LAYER_MT);
    lua_getiuservalue(L, arg, 1);
    lmodel *lm = luaL_checkudata(L, -1, MODEL_MT);
    lua_pop(L, 1);
    if (owner)
        *owner = lm;
    return &lm->m.layers[l->index];
}

/* Keras's names: flatten, dense, dense_1, dense_2, dropout, ... */
static void push_layer_name(lua_State *L, const model *m, int index)
{
    static const char *const kinds[] = {"dense", "flatten", "dropout"};
    int same = 0;
    for (int i = 0; i < index; i++)
        same += m->layers[i].kind == m->layers[index].kind;
    if (same)
        lua_pushfstring(L, "%s_%d", kinds[m->layers[index].kind], same);
    else
        lua_pushstring(L, kinds[m->layers[index].kind]);
}

static int layer_index(lua_State *L)
{
    lmodel *lm;
    const layer *l = check_layer(L, 1, &lm);
    const model *m = &lm->m;
    int index = ((llayer *)lua_touserdata(L, 1))->index;
    const char *key = luaL_checkstring(L, 2);
    static const char *const kinds[] = {"dense", "flatten", "dropout"};
    if (strcmp(key, "name") == 0) {
        push_layer_name(L, m, index);
    } else if (strcmp(key, "kind") == 0) {
        lua_pushstring(L, kinds[l->kind]);
    } else if (strcmp(key, "index") == 0) {
        lua_pushinteger(L, index + 1);
    } else if (strcmp(key, "units") == 0) {
        if (l->kind == LAYER_DENSE)
            lua_pushinteger(L, l->units);
        else if (m->built)
            lua_pushinteger(L, l->out);
        else
            lua_pushnil(L);
    } else if (strcmp(key, "activation") == 0) {
        if (l->kind == LAYER_DENSE)
            lua_pushstring(L, activation_name(l->act));
        else
            lua_pushnil(L);
    } else if (strcmp(key, "rate") == 0) {
        if (l->kind == LAYER_DROPOUT)
            lua_pushnumber(L, l->rate);
        else
            lua_pushnil(L);
    } else if (strcmp(key, "params") == 0) {
        lua_pushinteger(L, l->kind == LAYER_DENSE && m->built ? (lua_Integer)l->in * l->out + l->out : 0);
    } else if (strcmp(key, "weights") == 0 || strcmp(key, "bias") == 0) {
        if (l->kind != LAYER_DENSE || !m->built) {
            lua_pushnil(L);
        } else {
            lua_getiuservalue(L, 1, 1);
            bool weights = key[0] == 'w';
            int shape[2] = {l->in, l->out};
            tensor_push_view(L, lua_gettop(L), weights ? l->w : l->b, weights ? 2 : 1,
                             weights ? shape : &shape[1]);
        }
    } else if (strcmp(key, "output") == 0) {
        /* A copy: the buffer is overwritten by the next forward pass. */
        if (!m->built || m->last_rows == 0 || !l->y) {
            lua_pushnil(L);
        } else {
            int shape[2] = {m->last_rows, l->out};
            tensor *t = tensor_push(L, 2, shape);
            memcpy(t->data, l->y, t->size * sizeof *t->data);
        }
    } else if (strcmp(key, "output_shape") == 0 || strcmp(key, "input_shape") == 0) {
        if (!m->built) {
            lua_pushnil(L);
        } else if (key[0] == 'i' && index == 0) {
            push_shape_table(L, m->input_rank, m->input_shape);
        } else {
            int width = key[0] == 'i' ? l->in : l->out;
            push_shape_table(L, 1, &width);
        }
    } else {
        lua_pushnil(L);
    }
    return 1;
}

static int layer_tostring(lua_State *L)
{
    lmodel *lm;
    const layer *l = check_layer(L, 1, &lm);
    push_layer_name(L, &lm->m, ((llayer *)lua_touserdata(L, 1))->index);
    const char *name = lua_tostring(L, -1);
    if (l->kind == LAYER_DENSE && lm->m.built)
        lua_pushfstring(L, "Layer %s: dense(%d, %s), %d params", name, l->units, activation_name(l->act),
                        l->in * l->out + l->out);
    else if (l->kind == LAYER_DENSE)
        lua_pushfstring(L, "Layer %s: dense(%d, %s)", name, l->units, activation_name(l->act));
    else if (l->kind == LAYER_DROPOUT)
        lua_pushfstring(L, "Layer %s: dropout(%f)", name, (double)l->rate);
    else
        lua_pushfstring(L, "Layer %s: flatten", name);
    return 1;
}

/* ---- checkpoints and snapshots ------------------------------------------
 *
 * m:save(path) and nn.load(path) go through src/io/checkpoint.c; a
 * Snapshot is the same encoding kept in memory, inside its userdata, so
 * the collector knows its true size (a malloc'd copy would be invisible
 * to it, and a loop taking snapshots could pile up gigabytes before a
 * collection) and there is nothing for __gc to free. Restoring parses it
 * back (checked like a file) and moves the state into the model.
 *
 * The history goes to C as a checkpoint_history whose arrays live in a
 * scratch userdata, not malloc: a Lua error half-way leaves only garbage
 * for the collector. The way back (a parsed checkpoint's history into a
 * Lua table) runs under lua_pcall, so a memory error there cannot leak
 * the C arrays. */

#define SNAPSHOT_MT "ember.Snapshot"

typedef struct lsnapshot {
    int64_t       epoch, batch, seen, batches;   /* the cursor, for printing */
    size_t        len;
    unsigned char bytes[];                       /* checkpoint_encode's */
} lsnapshot;

static int compare_lists(const void *a, const void *b)
{
    return strcmp(((const checkpoint_list *)a)->name, ((const checkpoint_list *)b)->name);
}

/* A list that can be kept: a string key of 1..64 bytes naming a sequence
 * of numbers. Anything else a user put in the history table is skipped. */
static bool savable_list(lua_State *L, size_t *n)
{
    size_t name_len;
    if (lua_type(L, -2) != LUA_TSTRING || lua_type(L, -1) != LUA_TTABLE)
        return false;
    const char *name = lua_tolstring(L, -2, &name_len);
    if (name_len < 1 || name_len > CHECKPOINT_MAX_NAME || strlen(name) != name_len)
        return false;
    *n = lua_rawlen(L, -1);
    for (size_t i = 1; i <= *n; i++) {
        bool number = lua_rawgeti(L, -1, (lua_Integer)i) == LUA_TNUMBER;
        lua_pop(L, 1);
        if (!number)
            return false;
    }
    return true;
}

/* The model's history as C lists, sorted by name (so the bytes of a file
 * do not depend on table order); pushes the scratch userdata holding them. */
static checkpoint_history history_to_c(lua_State *L, const char *fname)
{
    lua_getiuservalue(L, 1, UV_HISTORY);
    int h = lua_gettop(L);
    size_t lists = 0, values = 0, n;
    if (lua_istable(L, h)) {
        lua_pushnil(L);
        while (lua_next(L, h)) {
            if (savable_list(L, &n)) {
                lists++;
                values += n;
            }
            lua_pop(L, 1);
        }
    }
    if (lists > CHECKPOINT_MAX_LISTS)
        luaL_error(L, "%s: the history holds %d lists (at most %d can be kept)", fname, (int)lists,
                   CHECKPOINT_MAX_LISTS);
    checkpoint_list *list = lua_newuserdatauv(L, lists * sizeof *list + values * sizeof(double), 0);
    double *value = (double *)(list + lists);
    checkpoint_history out = {.n = lists, .lists = list};
    if (lists == 0)
        return out;
    lua_pushnil(L);
    while (lua_next(L, h)) {
        if (savable_list(L, &n)) {
            memset(list, 0, sizeof *list);
            memcpy(list->name, lua_tostring(L, -2), lua_rawlen(L, -2));
            list->n = n;
            list->values = value;
            /* Integers (the epoch numbers) come back as integers; one
             * beyond 2^53 would not survive a double, so then floats. */
            list->integers = true;
            for (size_t i = 1; i <= n; i++) {
                lua_rawgeti(L, -1, (lua_Integer)i);
                int isint;
                lua_Integer k = lua_tointegerx(L, -1, &isint);
                list->integers = list->integers && lua_isinteger(L, -1) && isint &&
                                 k >= -((lua_Integer)1 << 53) && k <= ((lua_Integer)1 << 53);
                *value++ = lua_tonumber(L, -1);
                lua_pop(L, 1);
            }
            list++;
        }
        lua_pop(L, 1);
    }
    qsort(out.lists, out.n, sizeof *out.lists, compare_lists);
    return out;
}

/* (lightuserdata checkpoint_history) -> a History table; under pcall. */
static int push_history(lua_State *L)
{
    const checkpoint_history *h = lua_touserdata(L, 1);
    lua_createtable(L, 0, (int)h->n);
    luaL_setmetatable(L, HISTORY_MT);
    for (size_t i = 0; i < h->n; i++) {
        const checkpoint_list *l = &h->lists[i];
        lua_createtable(L, (int)l->n, 0);
        for (size_t k = 0; k < l->n; k++) {
            if (l->integers)   /* checked on loading: exact integers */
                lua_pushinteger(L, (lua_Integer)l->values[k]);
            else
                lua_pushnumber(L, l->values[k]);
            lua_rawseti(L, -2, (lua_Integer)k + 1);
        }
        lua_setfield(L, -2, l->name);
    }
    return 1;
}

/* Pushes the history of c as a table; on a Lua error, frees c and raises. */
static void push_checkpoint_history(lua_State *L, checkpoint *c)
{
    lua_pushcfunction(L, push_history);
    lua_pushlightuserdata(L, &c->history);
    if (lua_pcall(L, 1, 1, 0) != LUA_OK) {
        checkpoint_free(c);
        lua_error(L);
    }
}

static checkpoint_extras lmodel_extras(const lmodel *lm)
{
    return (checkpoint_extras){.batch_size = lm->batch_size, .accuracy = lm->accuracy};
}

/* m:save(path) -> true: the whole training state, written atomically. */
static int model_save(lua_State *L)
{
    lmodel *lm = check_model(L, 1);
    const char *path = luaL_checkstring(L, 2);
    if (!lm->m.built)
        return luaL_error(L, "m:save: the model is not built yet, so it has no weights to keep: train it, "
                             "or call m:build{28, 28} first");
    checkpoint_history h = history_to_c(L, "m:save");
    checkpoint_extras x = lmodel_extras(lm);
    char err[EMBER_ERR_SIZE];
    if (checkpoint_save(path, &lm->m, &x, &h, err) < 0)
        raise_core(L, "m:save", err);
    lua_pushboolean(L, 1);
    return 1;
}

/* nn.load(path) -> a new Model, exactly as it was saved (without data). */
static int nn_load(lua_State *L)
{
    const char *path = luaL_checkstring(L, 1);
    /* A safe, empty model first: __gc can always run. */
    lmodel *lm = lua_newuserdatauv(L, sizeof *lm, MODEL_UVALUES);
    memset(lm, 0, sizeof *lm);
    luaL_setmetatable(L, MODEL_MT);
    checkpoint c;
    char err[EMBER_ERR_SIZE];
    if (checkpoint_load(path, &c, err) < 0)
        raise_core(L, "nn.load", err);
    push_checkpoint_history(L, &c);
    lua_setiuservalue(L, -2, UV_HISTORY);
    lm->m = c.model;   /* moved: the userdata owns it now */
    lm->ready = true;
    lm->batch_size = c.extras.batch_size;
    lm->accuracy = c.extras.accuracy;
    checkpoint_history_free(&c.history);
    return 1;
}

/* m:snapshot() -> a Snapshot: the whole training state, in memory. */
static int model_snapshot(lua_State *L)
{
    lmodel *lm = check_model(L, 1);
    if (!lm->m.built)
        return luaL_error(L, "m:snapshot: the model is not built yet, so there is nothing to keep: train it, "
                             "or call m:build{28, 28} first");
    checkpoint_history h = history_to_c(L, "m:snapshot");
    checkpoint_extras x = lmodel_extras(lm);
    size_t len = checkpoint_size(&lm->m, &h);
    lsnapshot *s = lua_newuserdatauv(L, sizeof *s + len, 0);
    const train_cursor *c = &lm->m.cursor;
    s->epoch = c->epoch;
    s->batch = c->batch;
    s->seen = c->seen;
    s->batches = c->batch_size ? (int64_t)((c->count + c->batch_size - 1) / c->batch_size) : 0;
    s->len = len;
    checkpoint_encode(&lm->m, &x, &h, s->bytes);
    luaL_setmetatable(L, SNAPSHOT_MT);
    return 1;
}

/* m:restore(s): back to the state s holds; the bound data stays. */
static int model_restore(lua_State *L)
{
    lmodel *lm = check_model(L, 1);
    const lsnapshot *s = luaL_checkudata(L, 2, SNAPSHOT_MT);
    checkpoint c;
    char err[EMBER_ERR_SIZE];
    if (checkpoint_parse(s->bytes, s->len, "snapshot", &c, err) < 0)
        raise_core(L, "m:restore", err);
    /* Everything that can fail first: the history table, the checks. */
    push_checkpoint_history(L, &c);
    if (checkpoint_restore(&lm->m, &c, err) < 0) {
        checkpoint_free(&c);
        return luaL_error(L, "m:restore: cannot restore the snapshot: %s", err);
    }
    lua_setiuservalue(L, 1, UV_HISTORY);
    lm->batch_size = c.extras.batch_size;
    lm->accuracy = c.extras.accuracy;
    checkpoint_free(&c);
    return 0;
}

static int snapshot_tostring(lua_State *L)
{
    const lsnapshot *s = luaL_checkudata(L, 1, SNAPSHOT_MT);
    if (s->batch > 0)
        lua_pushfstring(L, "snapshot: epoch %d, batch %d/%d, %d samples seen", (int)s->epoch + 1, (int)s->batch,
                        (int)s->batches, (int)s->seen);
    else
        lua_pushfstring(L, "snapshot: %d epoch%s done, %d samples seen", (int)s->epoch, s->epoch == 1 ? "" : "s",
                        (int)s->seen);
    return 1;
}

/* s.epoch (epochs completed), s.batch (batches into the next), s.seen,
 * s.bytes (its size in memory). */
static int snapshot_index(lua_State *L)
{
    const lsnapshot *s = luaL_checkudata(L, 1, SNAPSHOT_MT);
    const char *key = luaL_checkstring(L, 2);
    if (strcmp(key, "epoch") == 0)
        lua_pushinteger(L, s->epoch);
    else if (strcmp(key, "batch") == 0)
        lua_pushinteger(L, s->batch);
    else if (strcmp(key, "seen") == 0)
        lua_pushinteger(L, s->seen);
    else if (strcmp(key, "bytes") == 0)
        lua_pushinteger(L, (lua_Integer)s->len);
    else
        lua_pushnil(L);
    return 1;
}

static const luaL_Reg snapshot_meta[] = {
    {"__index", snapshot_index},
    {"__tostring", snapshot_tostring},
    {NULL, NULL},
};

/* ---- registration ------------------------------------------------------ */

static const luaL_Reg model_methods[] = {
    {"compile", model_compile_lua},
    {"build", model_build_lua},
    {"fit", model_fit},
    {"step", model_step},
    {"epoch", model_epoch},
    {"train_batch", model_train_batch_lua},
    {"evaluate", model_evaluate_lua},
    {"predict", model_predict_lua},
    {"classify", model_classify},
    {"save", model_save},
    {"snapshot", model_snapshot},
    {"restore", model_restore},
    {NULL, NULL},
};

static const luaL_Reg model_meta[] = {
    {"__index", model_index},
    {"__tostring", model_tostring},
    {"__gc", model_gc},
    {NULL, NULL},
};

static const luaL_Reg layer_meta[] = {
    {"__index", layer_index},
    {"__tostring", layer_tostring},
    {NULL, NULL},
};

static const luaL_Reg nn_functions[] = {
    {"sequential", nn_sequential},
    {"dense", nn_dense},
    {"flatten", nn_flatten},
    {"dropout", nn_dropout},
    {"adam", nn_adam},
    {"sgd", nn_sgd},
    {"rmsprop", nn_rmsprop},
    {"load", nn_load},
    {NULL, NULL},
};

int luaopen_ember_nn(lua_State *L)
{
    /* Model: fields through __index; methods in __methods, which lua/ code
     * extends (summary) and completion walks. */
    luaL_newmetatable(L, MODEL_MT);
    luaL_setfuncs(L, model_meta, 0);
    luaL_newlib(L, model_methods);
    lua_setfield(L, -2, "__methods");
    lua_pop(L, 1);

    luaL_newmetatable(L, LAYER_MT);
    luaL_setfuncs(L, layer_meta, 0);
    lua_pop(L, 1);

    luaL_newmetatable(L, LAYERSPEC_MT);
    lua_pushcfunction(L, layerspec_tostring);
    lua_setfield(L, -2, "__tostring");
    lua_pop(L, 1);

    luaL_newmetatable(L, OPTSPEC_MT);
    lua_pop(L, 1);
    luaL_newmetatable(L, HISTORY_MT);
    lua_pop(L, 1);
    luaL_newmetatable(L, LOGS_MT);   /* __tostring in lua/model.lua */
    lua_pop(L, 1);
    luaL_newmetatable(L, SNAPSHOT_MT);
    luaL_setfuncs(L, snapshot_meta, 0);
    lua_pop(L, 1);

    luaL_newlib(L, nn_functions);
    lua_getglobal(L, "ember");
    if (lua_istable(L, -1)) {
        lua_getfield(L, -1, "seed");
        lua_setfield(L, -3, "seed");
    }
    lua_pop(L, 1);
    return 1;
}
