/* RTM_ERR_TOO_LARGE: a listen quest that cannot fit in the 1 KiB transmit buffer.
 *
 * With the default capacities (64 listen ids) every quest fits, so this program is linked
 * against a library built with RTM_LISTEN_IDS=120 (scripts/ffi-tests.sh builds it into
 * target/ffi-tests/cargo-ids120): 120 ids of 9 msgpack bytes each are more than 1024 bytes. */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "rtm_listen.h"

#include "check.h"

int main(void) {
    static rtm_listener l;
    static int64_t ids[120];
    const uint8_t *data = NULL;
    size_t len = 0, i;
    uint32_t id = 0;
    rtm_config c;
    rtm_ids list;
    check_group("RTM_ERR_TOO_LARGE (library built with RTM_LISTEN_IDS=120)");
    CHECK(rtm_listener_size() <= sizeof l);
    memset(&c, 0, sizeof c);
    c.pid = 1;
    c.secret.ptr = (const uint8_t *)"secret";
    c.secret.len = 6;
    CHECK_ST(rtm_listener_init(&l, sizeof l, &c), RTM_OK);
    CHECK_ST(rtm_listener_connected(&l, 0, c.secret), RTM_OK);
    for (i = 0; i < 120; i++) ids[i] = 5000000000LL + (int64_t)i; /* uint64 encodings, 9 bytes */
    memset(&list, 0, sizeof list);
    list.uids = ids;
    list.uids_len = 120;
    CHECK_ST(rtm_listen_add(&l, 0, &list, &id), RTM_ERR_TOO_LARGE);
    CHECK_ST(rtm_listen_set(&l, 0, &list, &id), RTM_ERR_TOO_LARGE);
    CHECK_EQ(id, 0);
    CHECK_ST(rtm_listener_transmit(&l, &data, &len), RTM_OK);
    CHECK_EQ(len, 0); /* nothing was sent */
    /* the same count of small ids (1 byte each) fits: the limit is the encoded size */
    for (i = 0; i < 120; i++) ids[i] = (int64_t)i;
    CHECK_ST(rtm_listen_set(&l, 0, &list, &id), RTM_OK);
    CHECK(id != 0);
    CHECK_ST(rtm_listener_transmit(&l, &data, &len), RTM_OK);
    CHECK(len > 120 && len <= 1024); /* (a default build refuses 120 ids: TOO_MANY_IDS) */
    CHECK_ST(rtm_listener_deinit(&l), RTM_OK);
    return check_summary();
}
