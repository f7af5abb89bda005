#ifndef LUMINATECTL_CCRYPTO_SHIM_H
#define LUMINATECTL_CCRYPTO_SHIM_H
// OpenSSL's libcrypto, for the journal's SHA-256 hash chain (and any digest or HMAC later):
// a well-kept C library rather than hand-written cryptography.
#include <openssl/evp.h>
#include <openssl/sha.h>
#include <openssl/hmac.h>
#endif
