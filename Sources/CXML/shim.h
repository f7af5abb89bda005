#ifndef LUMINATECTL_CXML_SHIM_H
#define LUMINATECTL_CXML_SHIM_H
// libxml2's streaming reader (xmlTextReader) for OpsKit: S3 answers in XML.
//
// Why not FoundationXML's XMLParser (libxml2 underneath): importing FoundationXML anywhere in
// OpsKit links libFoundationXML.so, which loads libxml2, ICU's libicuuc and libicudata, liblzma
// and libz at every start. Measured on a release build, `luminatectl --version` went from
// 7.7 ms to 9.7 ms (hyperfine, 300 runs), for commands that never read XML.
//
// So, as for libcurl (see Sources/CCurl/shim.h), libxml2 is opened with dlopen when the first
// document is parsed, and every entry point goes through the table below.
//
// Why the declarations are written here rather than taken from <libxml/xmlreader.h>: those
// headers live in /usr/include/libxml2 and include each other as <libxml/...>, which needs
// -I/usr/include/libxml2; only pkg-config would add it, and with it -lxml2, the start-up cost
// this avoids. The types below are libxml2.so.2's stable ABI (xmlreader.h, libxml2 >= 2.6):
// opaque reader and locator pointers, `xmlChar` as unsigned char, severities as int.
#include <dlfcn.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>

typedef unsigned char luminate_xml_char;
/// xmlTextReader, opaque.
typedef struct luminate_xml_reader luminate_xml_reader;
/// xmlTextReaderLocator, opaque.
typedef void luminate_xml_locator;
/// xmlTextReaderErrorFunc: `message` is already formatted; severity 1-2 validity, 3 warning, 4 error.
typedef void (*luminate_xml_error_callback)(void *arg, const char *message, int severity,
                                            luminate_xml_locator *locator);

// xmlParserOption values (parser.h).
enum {
    LUMINATE_XML_PARSE_NOERROR = 1 << 5,
    LUMINATE_XML_PARSE_NOWARNING = 1 << 6,
    LUMINATE_XML_PARSE_NONET = 1 << 11,
    LUMINATE_XML_PARSE_NOCDATA = 1 << 14,
};

// xmlReaderTypes values (xmlreader.h) that a reader of S3's documents meets.
enum {
    LUMINATE_XML_ELEMENT = 1,
    LUMINATE_XML_TEXT = 3,
    LUMINATE_XML_CDATA = 4,
    LUMINATE_XML_SIGNIFICANT_WHITESPACE = 14,
    LUMINATE_XML_END_ELEMENT = 15,
};

struct luminate_xml_api {
    const char *error;
    void (*init_parser)(void);
    luminate_xml_reader *(*reader_for_memory)(const char *buffer, int size, const char *url,
                                              const char *encoding, int options);
    int (*read)(luminate_xml_reader *reader);
    int (*node_type)(luminate_xml_reader *reader);
    int (*is_empty_element)(luminate_xml_reader *reader);
    const luminate_xml_char *(*const_local_name)(luminate_xml_reader *reader);
    const luminate_xml_char *(*const_value)(luminate_xml_reader *reader);
    void (*set_error_handler)(luminate_xml_reader *reader, luminate_xml_error_callback callback, void *arg);
    void (*free_reader)(luminate_xml_reader *reader);
};

// Function-local statics: Swift emits a header's static inline functions it uses, not its
// file-scope variables.
static inline struct luminate_xml_api *luminate_xml_api(void) {
    static struct luminate_xml_api table;
    return &table;
}

static inline char *luminate_xml_error_buffer(void) {
    static char buffer[512];
    return buffer;
}

#define luminate_xml_table (*luminate_xml_api())
#define luminate_xml_load_error (luminate_xml_error_buffer())

static inline void luminate_xml_bind(void) {
    void *library = dlopen("libxml2.so.2", RTLD_NOW | RTLD_LOCAL);
    if (!library) {
        const char *reason = dlerror();
        snprintf(luminate_xml_load_error, 512, "%s", reason ? reason : "libxml2.so.2 not found");
        luminate_xml_table.error = luminate_xml_load_error;
        return;
    }
#define LUMINATE_XML_BIND(field, symbol)                                                         \
    do {                                                                                         \
        *(void **)(&luminate_xml_table.field) = dlsym(library, symbol);                          \
        if (!luminate_xml_table.field) {                                                         \
            snprintf(luminate_xml_load_error, 512, "libxml2.so.2 lacks %s", symbol);             \
            luminate_xml_table.error = luminate_xml_load_error;                                  \
            return;                                                                              \
        }                                                                                        \
    } while (0)
    LUMINATE_XML_BIND(init_parser, "xmlInitParser");
    LUMINATE_XML_BIND(reader_for_memory, "xmlReaderForMemory");
    LUMINATE_XML_BIND(read, "xmlTextReaderRead");
    LUMINATE_XML_BIND(node_type, "xmlTextReaderNodeType");
    LUMINATE_XML_BIND(is_empty_element, "xmlTextReaderIsEmptyElement");
    LUMINATE_XML_BIND(const_local_name, "xmlTextReaderConstLocalName");
    LUMINATE_XML_BIND(const_value, "xmlTextReaderConstValue");
    LUMINATE_XML_BIND(set_error_handler, "xmlTextReaderSetErrorHandler");
    LUMINATE_XML_BIND(free_reader, "xmlFreeTextReader");
#undef LUMINATE_XML_BIND
    // libxml2 must be initialised once before it is used from several threads.
    luminate_xml_table.init_parser();
}

/// Binds libxml2 once; returns NULL when ready, else why it could not be loaded.
static inline const char *luminate_xml_load(void) {
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, luminate_xml_bind);
    return luminate_xml_table.error;
}

// The entry points below assume luminate_xml_load() returned NULL.
static inline luminate_xml_reader *luminate_xml_reader_for_memory(const char *buffer, int size, int options) {
    return luminate_xml_table.reader_for_memory(buffer, size, NULL, NULL, options);
}
static inline int luminate_xml_read(luminate_xml_reader *reader) { return luminate_xml_table.read(reader); }
static inline int luminate_xml_node_type(luminate_xml_reader *reader) { return luminate_xml_table.node_type(reader); }
static inline int luminate_xml_is_empty_element(luminate_xml_reader *reader) {
    return luminate_xml_table.is_empty_element(reader);
}
static inline const luminate_xml_char *luminate_xml_local_name(luminate_xml_reader *reader) {
    return luminate_xml_table.const_local_name(reader);
}
static inline const luminate_xml_char *luminate_xml_value(luminate_xml_reader *reader) {
    return luminate_xml_table.const_value(reader);
}
static inline void luminate_xml_set_error_handler(luminate_xml_reader *reader, luminate_xml_error_callback callback,
                                                  void *arg) {
    luminate_xml_table.set_error_handler(reader, callback, arg);
}
static inline void luminate_xml_free_reader(luminate_xml_reader *reader) { luminate_xml_table.free_reader(reader); }

#endif
