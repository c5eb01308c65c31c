/* Test-only shim for Wine 8 (Debian 12), which lacks bcryptprimitives.dll: Rust's standard
 * library imports ProcessPrng from it on Windows 10+. Built with MinGW next to the .exe by
 * scripts/wine-smoke.sh; a real Windows machine has the real DLL and never loads this one.
 * ProcessPrng fills the buffer from RtlGenRandom (advapi32's SystemFunction036). */
#include <windows.h>

BOOLEAN WINAPI SystemFunction036(PVOID buffer, ULONG length);

__declspec(dllexport) BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T size) {
    while (size > 0) {
        ULONG chunk = size > 0x40000000 ? 0x40000000 : (ULONG)size;
        if (!SystemFunction036(data, chunk)) return FALSE;
        data += chunk;
        size -= chunk;
    }
    return TRUE;
}
