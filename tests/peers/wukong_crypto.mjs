// WuKongIM's payload crypto computed with Node's own `crypto` (OpenSSL), as the server does it
// (protocol/wukongim.md §b "Encryption"), for tests/wukong_crypto.rs to compare with ours.
// usage: node tests/peers/wukong_crypto.mjs   (prints one JSON object)
import crypto from 'node:crypto';

const PKCS8_X25519 = Buffer.from('302e020100300506032b656e04220420', 'hex');
const privateKey = (raw) =>
  crypto.createPrivateKey({ key: Buffer.concat([PKCS8_X25519, raw]), format: 'der', type: 'pkcs8' });
const publicRaw = (priv) =>
  crypto.createPublicKey(priv).export({ format: 'der', type: 'spki' }).subarray(-32);

const clientRaw = Buffer.alloc(32, 0x11);
const serverRaw = Buffer.alloc(32, 0x22);
const client = privateKey(clientRaw);
const server = privateKey(serverRaw);
const serverPub = publicRaw(server);
const clientPub = publicRaw(client);
// The server's side: X25519(server secret, client public).
const shared = crypto.diffieHellman({
  privateKey: server,
  publicKey: crypto.createPublicKey({
    key: Buffer.concat([Buffer.from('302a300506032b656e032100', 'hex'), clientPub]),
    format: 'der',
    type: 'spki',
  }),
});
const aesKey = crypto.createHash('md5').update(shared.toString('base64')).digest('hex').slice(0, 16);
const salt = 'abcdefghijklmnop';
const enc = (data) => {
  const c = crypto.createCipheriv('aes-128-cbc', Buffer.from(aesKey, 'latin1'), Buffer.from(salt, 'latin1'));
  return Buffer.concat([c.update(data), c.final()]);
};
const cases = ['{"type":1,"content":"hello group"}', '', 'x'.repeat(16), 'é'.repeat(40)];
const payloads = cases.map((p) => enc(Buffer.from(p, 'utf8')).toString('base64'));
// A RECV's msgKey: the fields in the server's order, then the encrypted (base64) payload.
const recv = {
  message_id: '1234567890123',
  message_seq: 7,
  client_msg_no: 'cmn-1',
  timestamp: 1700000000,
  from_uid: 'alice',
  channel_id: 'g1',
  channel_type: 2,
};
const msgKeys = payloads.map((p) => {
  const s = `${recv.message_id}${recv.message_seq}${recv.client_msg_no}${recv.timestamp}${recv.from_uid}${recv.channel_id}${recv.channel_type}${p}`;
  return crypto.createHash('md5').update(enc(Buffer.from(s, 'utf8')).toString('base64')).digest('hex');
});
console.log(
  JSON.stringify({
    client_random: clientRaw.toString('hex'),
    client_public_b64: clientPub.toString('base64'),
    server_public_b64: serverPub.toString('base64'),
    salt,
    aes_key: aesKey,
    plaintexts: cases,
    payloads,
    recv,
    msg_keys: msgKeys,
  }),
);
