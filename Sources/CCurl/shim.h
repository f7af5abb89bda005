#ifndef LUMINATECTL_CCURL_SHIM_H
#define LUMINATECTL_CCURL_SHIM_H
// libcurl for OpsKit, through typed wrappers only.
//
// Why wrappers: curl_easy_setopt and curl_easy_getinfo are variadic, which Swift cannot call.
// A system-library target cannot hold .c files, so they are static inline.
//
// Why bound on first use: libcurl4 (OpenSSL flavour) brings some thirty shared libraries
// (GnuTLS through librtmp, Kerberos, LDAP, SSH, ...) whose loading and constructors cost about
// 5 ms of every start, for commands that never make a request (--version, help, config view).
// So the headers come from the system library as usual, and the library itself is opened with
// dlopen when the first request is made. Every entry point below goes through that table.
#include <curl/curl.h>
#include <dlfcn.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>

typedef size_t (*luminate_curl_data_callback)(char *ptr, size_t size, size_t nmemb, void *userdata);
typedef int (*luminate_curl_progress_callback)(void *clientp, curl_off_t dltotal, curl_off_t dlnow,
                                               curl_off_t ultotal, curl_off_t ulnow);
// CURLOPT_READFUNCTION fills `buffer` with up to size * nitems request-body bytes.
typedef size_t (*luminate_curl_read_callback)(char *buffer, size_t size, size_t nitems, void *userdata);
// CURLOPT_SEEKFUNCTION rewinds the request body when curl must send it again (a kept-alive
// connection that died under the first attempt).
typedef int (*luminate_curl_seek_callback)(void *userdata, curl_off_t offset, int origin);

struct luminate_curl_api {
    const char *error;
    CURLcode (*global_init)(long flags);
    CURL *(*easy_init)(void);
    void (*easy_cleanup)(CURL *handle);
    void (*easy_reset)(CURL *handle);
    CURLcode (*easy_perform)(CURL *handle);
    const char *(*easy_strerror)(CURLcode code);
    CURLcode (*easy_setopt)(CURL *handle, CURLoption option, ...);
    CURLcode (*easy_getinfo)(CURL *handle, CURLINFO info, ...);
    struct curl_slist *(*slist_append)(struct curl_slist *list, const char *string);
    void (*slist_free_all)(struct curl_slist *list);
};

// Function-local statics: Swift emits a header's static inline functions it uses, not its
// file-scope variables.
static inline struct luminate_curl_api *luminate_curl_api(void) {
    static struct luminate_curl_api table;
    return &table;
}

static inline char *luminate_curl_error_buffer(void) {
    static char buffer[512];
    return buffer;
}

#define luminate_curl_table (*luminate_curl_api())
#define luminate_curl_error (luminate_curl_error_buffer())

static inline void luminate_curl_bind(void) {
    void *library = dlopen("libcurl.so.4", RTLD_NOW | RTLD_LOCAL);
    if (!library) {
        const char *reason = dlerror();
        snprintf(luminate_curl_error, 512, "%s", reason ? reason : "libcurl.so.4 not found");
        luminate_curl_table.error = luminate_curl_error;
        return;
    }
#define LUMINATE_CURL_BIND(field, symbol)                                                        \
    do {                                                                                         \
        *(void **)(&luminate_curl_table.field) = dlsym(library, symbol);                         \
        if (!luminate_curl_table.field) {                                                        \
            snprintf(luminate_curl_error, 512, "libcurl.so.4 lacks %s", symbol); \
            luminate_curl_table.error = luminate_curl_error;                                     \
            return;                                                                              \
        }                                                                                        \
    } while (0)
    LUMINATE_CURL_BIND(global_init, "curl_global_init");
    LUMINATE_CURL_BIND(easy_init, "curl_easy_init");
    LUMINATE_CURL_BIND(easy_cleanup, "curl_easy_cleanup");
    LUMINATE_CURL_BIND(easy_reset, "curl_easy_reset");
    LUMINATE_CURL_BIND(easy_perform, "curl_easy_perform");
    LUMINATE_CURL_BIND(easy_strerror, "curl_easy_strerror");
    LUMINATE_CURL_BIND(easy_setopt, "curl_easy_setopt");
    LUMINATE_CURL_BIND(easy_getinfo, "curl_easy_getinfo");
    LUMINATE_CURL_BIND(slist_append, "curl_slist_append");
    LUMINATE_CURL_BIND(slist_free_all, "curl_slist_free_all");
#undef LUMINATE_CURL_BIND
}

/// Binds libcurl once; returns NULL when ready, else why it could not be loaded.
static inline const char *luminate_curl_load(void) {
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, luminate_curl_bind);
    return luminate_curl_table.error;
}

// The entry points below assume luminate_curl_load() returned NULL.
static inline CURLcode luminate_curl_global_init(long flags) { return luminate_curl_table.global_init(flags); }
static inline CURL *luminate_curl_easy_init(void) { return luminate_curl_table.easy_init(); }
static inline void luminate_curl_easy_cleanup(CURL *handle) { luminate_curl_table.easy_cleanup(handle); }
static inline void luminate_curl_easy_reset(CURL *handle) { luminate_curl_table.easy_reset(handle); }
static inline CURLcode luminate_curl_easy_perform(CURL *handle) { return luminate_curl_table.easy_perform(handle); }
static inline const char *luminate_curl_easy_strerror(CURLcode code) { return luminate_curl_table.easy_strerror(code); }
static inline struct curl_slist *luminate_curl_slist_append(struct curl_slist *list, const char *string) {
    return luminate_curl_table.slist_append(list, string);
}
static inline void luminate_curl_slist_free_all(struct curl_slist *list) { luminate_curl_table.slist_free_all(list); }

static inline CURLcode luminate_curl_setopt_long(CURL *handle, CURLoption option, long value) {
    return luminate_curl_table.easy_setopt(handle, option, value);
}

static inline CURLcode luminate_curl_setopt_off(CURL *handle, CURLoption option, curl_off_t value) {
    return luminate_curl_table.easy_setopt(handle, option, value);
}

static inline CURLcode luminate_curl_setopt_string(CURL *handle, CURLoption option, const char *value) {
    return luminate_curl_table.easy_setopt(handle, option, value);
}

static inline CURLcode luminate_curl_setopt_pointer(CURL *handle, CURLoption option, void *value) {
    return luminate_curl_table.easy_setopt(handle, option, value);
}

static inline CURLcode luminate_curl_setopt_slist(CURL *handle, CURLoption option, struct curl_slist *value) {
    return luminate_curl_table.easy_setopt(handle, option, value);
}

static inline CURLcode luminate_curl_setopt_data_callback(CURL *handle, CURLoption option,
                                                          luminate_curl_data_callback value) {
    return luminate_curl_table.easy_setopt(handle, option, value);
}

static inline CURLcode luminate_curl_setopt_read_callback(CURL *handle, luminate_curl_read_callback value) {
    return luminate_curl_table.easy_setopt(handle, CURLOPT_READFUNCTION, value);
}

static inline CURLcode luminate_curl_setopt_seek_callback(CURL *handle, luminate_curl_seek_callback value) {
    return luminate_curl_table.easy_setopt(handle, CURLOPT_SEEKFUNCTION, value);
}

static inline CURLcode luminate_curl_setopt_progress_callback(CURL *handle, luminate_curl_progress_callback value) {
    return luminate_curl_table.easy_setopt(handle, CURLOPT_XFERINFOFUNCTION, value);
}

static inline CURLcode luminate_curl_getinfo_long(CURL *handle, CURLINFO info, long *value) {
    return luminate_curl_table.easy_getinfo(handle, info, value);
}

static inline CURLcode luminate_curl_getinfo_double(CURL *handle, CURLINFO info, double *value) {
    return luminate_curl_table.easy_getinfo(handle, info, value);
}

static inline CURLcode luminate_curl_getinfo_off(CURL *handle, CURLINFO info, curl_off_t *value) {
    return luminate_curl_table.easy_getinfo(handle, info, value);
}

#endif
