// Calls that must not compile, one per CASE (scripts/cpp-client.sh builds each with g++ and
// clang++ and requires the failure and its message); without CASE the file compiles (the
// control that the failures come from the cases), official encryption calls included. CASE 4
// (enableEncryptor, refused while the library had no encryption) is retired: the five
// enableEncryptor* calls now compile with the official signatures (the control below).
#if CASE == 5 || CASE == 6
#define RTM_LISTEN_VIEWS
#endif
#if CASE == 7
#define RTM_LISTEN_VIEWS
#include "rtm_server_client.hpp"
#elif CASE == 5 || CASE == 6
#include "rtm_listen.hpp"
#else
#include "rtm_server_client.hpp"
#endif

#include <set>
#include <string>

using namespace rtm;
using namespace std;

#if CASE == 6
// An official-style monitor (no override) in the views flavour: must not become dead callbacks.
class MyMonitor : public RTMServerPushMonitor {
    virtual void connected(const string &, bool, bool) {}
    virtual void pushGroupChat(RTMMessage) {}
};
#endif

int main() {
#if CASE == 1
    // the trap: setListen(allGroup, allRoom, allP2P, allEvent, timeout) on the sans-IO listener
    RTMServerPushMonitor monitor;
    Listener listener(1, "secret", 7, monitor);
    listener.setListen(true, false, true, false, 0);
#elif CASE == 2
    // the same with a callback (it would have become allEvent = true)
    RTMServerPushMonitor monitor;
    Listener listener(1, "secret", 7, monitor);
    listener.setListen(true, false, true, false, [](int32_t) {});
#elif CASE == 3
    // the client's flags form takes bools only: integers do not become flags
    RTMServerClient client(1, "secret", "127.0.0.1:1");
    client.setListen(1, 0, 1, 0);
#elif CASE == 8
    RTMServerClient client(1, "secret", "127.0.0.1:1");
    int32_t modifyTime = 0;
    client.sendChat(modifyTime, 1, 2, "hello", "");
#elif CASE == 6
    MyMonitor m;
    (void)m;
#elif defined(CASE)
#else
    RTMServerClient client(1, "secret", "127.0.0.1:1");
    (void)client.connected();
    // the official encryption calls, with their default arguments and without (bool results)
    std::string pem = "-----BEGIN PUBLIC KEY-----", der = "0", raw(64, '\x01');
    bool ok = client.enableEncryptorByPemFile("server-public.pem");
    ok = client.enableEncryptorByPemFile("server-public.pem", false, true) || ok;
    ok = client.enableEncryptorByDerFile("server-public.der") || ok;
    ok = client.enableEncryptorByDerFile("server-public.der", true, false) || ok;
    ok = client.enableEncryptorByPemData(pem) || ok;
    ok = client.enableEncryptorByPemData(pem, false) || ok;
    ok = client.enableEncryptorByDerData(der, true, true) || ok;
    ok = client.enableEncryptor("secp256k1", raw) || ok;
    ok = client.enableEncryptor(std::string("secp256r1"), raw, false, true) || ok;
    (void)ok;
#endif
    return 0;
}
