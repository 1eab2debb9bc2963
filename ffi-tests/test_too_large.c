/* The transmit buffer in a build with more listen ids (RTM_LISTEN_IDS=120).
 *
 * The transmit buffer must hold the largest listen quest (rtm_min_tx_size()), so a listen
 * quest never fails to fit (RTM_ERR_TOO_LARGE is retired). With 120 ids of 9 msgpack bytes
 * each that is more than the usual 1 KiB: this program is linked against a library built with
 * RTM_LISTEN_IDS=120 (scripts/ffi-tests.sh builds it into target/ffi-tests/cargo-ids120) and
 * checks that the default transmit buffer grows to the minimum, that a quest with 120 large ids
 * is sent, and that a smaller transmit buffer is refused with RTM_ERR_BUFFER_TOO_SMALL. */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "rtm_listen.h"

#include "check.h"

int main(void) {
    static rtm_listener l;
    static int64_t ids[120];
    static uint8_t lent[RTM_BUFFER_SIZE(4096, 2048)];
    const uint8_t *data = NULL;
    size_t len = 0, i;
    uint32_t id = 0;
    rtm_config c;
    rtm_ids list;
    check_group("transmit buffer with RTM_LISTEN_IDS=120");
    CHECK(rtm_listener_size() <= sizeof l);
    CHECK(rtm_min_tx_size() > 1024); /* 120 ids need more than the usual 1 KiB */
    memset(&c, 0, sizeof c);
    c.pid = 1;
    c.secret.ptr = (const uint8_t *)"secret";
    c.secret.len = 6;
    /* inline buffers, default sizes: TX is the minimum */
    CHECK_ST(rtm_listener_init(&l, sizeof l, &c), RTM_OK);
    CHECK_ST(rtm_listener_connected(&l, 0, c.secret), RTM_OK);
    for (i = 0; i < 120; i++) ids[i] = 5000000000LL + (int64_t)i; /* uint64 encodings, 9 bytes */
    memset(&list, 0, sizeof list);
    list.uids = ids;
    list.uids_len = 120;
    CHECK_ST(rtm_listen_set(&l, 0, &list, &id), RTM_OK);
    CHECK(id != 0);
    CHECK_ST(rtm_listener_transmit(&l, &data, &len), RTM_OK);
    CHECK(len > 120 * 9 && len <= rtm_min_tx_size()); /* the whole quest, sent */
    CHECK_ST(rtm_listener_deinit(&l), RTM_OK);
    /* an explicit TX below the minimum is refused, inline or lent; at the minimum it works */
    c.tx_size = 1024;
    CHECK_ST(rtm_listener_init(&l, sizeof l, &c), RTM_ERR_BUFFER_TOO_SMALL);
    c.buffer = lent;
    c.buffer_len = sizeof lent;
    c.rx_size = 4096;
    CHECK_ST(rtm_listener_init(&l, sizeof l, &c), RTM_ERR_BUFFER_TOO_SMALL);
    c.tx_size = rtm_min_tx_size();
    CHECK_ST(rtm_listener_init(&l, sizeof l, &c), RTM_OK);
    CHECK_ST(rtm_listener_connected(&l, 0, c.secret), RTM_OK);
    CHECK_ST(rtm_listen_set(&l, 0, &list, &id), RTM_OK);
    CHECK_ST(rtm_listener_transmit(&l, &data, &len), RTM_OK);
    CHECK(len > 120 * 9 && data >= lent && data < lent + sizeof lent); /* from the lent buffer */
    CHECK_ST(rtm_listener_deinit(&l), RTM_OK);
    return check_summary();
}
