// npm wukongimjssdk@1.0.4 (an independent WuKongIM client) as an oracle for
// tests/wukong_oracle.rs. Reads what our side built (JSON on stdin), and prints what the SDK
// makes of it: its own encoding of the same CONNECT, PING, RECVACK and SUB; its decoding,
// msgKey check and decryption of our encrypted RECV (binary protocol v2); its key derivation
// from our client secret; and a message it encrypts, for us to decrypt.
// usage: WUKONG_SDK_DIR=<dir with node_modules> node --import ./wukong_register.mjs wukong_oracle.mjs < in.json
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';

const dir = process.env.WUKONG_SDK_DIR;
const lib = (f) => pathToFileURL(`${dir}/node_modules/wukongimjssdk/lib/${f}.js`).href;
// The SDK's own CommonJS dependencies, as it resolves them.
const require = createRequire(`${dir}/node_modules/wukongimjssdk/package.json`);
const proto = await import(lib('proto'));
const { SecurityManager } = await import(lib('security'));
const { sharedKey } = require('curve25519-js');
const { Md5 } = require('md5-typescript');

const input = JSON.parse(readFileSync(0, 'utf8'));
const hex = (bytes) => Buffer.from(bytes).toString('hex');
const P = new proto.default();

const c = new proto.ConnectPacket();
Object.assign(c, {
  version: input.connect.version,
  deviceFlag: input.connect.device_flag,
  deviceID: input.connect.device_id,
  uid: input.connect.uid,
  token: input.connect.token,
  clientTimestamp: input.connect.client_timestamp,
  clientKey: input.connect.client_key,
});
const ack = new proto.RecvackPacket();
ack.messageID = input.recvack.message_id;
ack.messageSeq = input.recvack.message_seq;
const sub = new proto.SubPacket();
Object.assign(sub, {
  setting: 0,
  clientMsgNo: input.sub.sub_no,
  channelID: input.sub.channel_id,
  channelType: input.sub.channel_type,
  action: input.sub.action,
  param: input.sub.param,
});

// The SDK's key derivation (ConnectManager.onPacket): curve25519-js, base64, MD5, 16 chars.
const secret = sharedKey(
  Uint8Array.from(Buffer.from(input.client_secret_hex, 'hex')),
  Uint8Array.from(Buffer.from(input.server_public_b64, 'base64')),
);
const sec = SecurityManager.shared();
sec.aesKey = Md5.init(Buffer.from(secret).toString('base64')).substring(0, 16);
sec.aesIV = input.salt.substring(0, 16);

// Our RECV through its decoder and its msgKey check (ChatManager.onPacket), then decrypted.
const recv = P.decode(Uint8Array.from(Buffer.from(input.recv_hex, 'hex')));
const msgKeyOk = Md5.init(sec.encryption(recv.veritifyString)) === recv.msgKey;
const plain = Buffer.from(sec.decryption(recv.payload)).toString('utf8');

console.log(
  JSON.stringify({
    connect_hex: hex(P.encode(c)),
    ping_hex: hex(P.encode(new proto.PingPacket())),
    recvack_hex: hex(P.encode(ack)),
    sub_hex: hex(P.encode(sub)),
    aes_key: sec.aesKey,
    recv: {
      packet_type: recv.packetType,
      from_uid: recv.fromUID,
      channel_id: recv.channelID,
      channel_type: recv.channelType,
      client_msg_no: recv.clientMsgNo,
      message_id: recv.messageID,
      message_seq: recv.messageSeq,
      timestamp: recv.timestamp,
      msg_key_ok: msgKeyOk,
      plaintext: plain,
    },
    sdk_encrypted_b64: sec.encryption(input.to_encrypt),
  }),
);
