// pg's lib/crypto/utils.js, computed with node:crypto instead of WebCrypto
// (see nodeCryptoForScram in build.mjs). Same exports, same results.
const nodeCrypto = require('crypto');

const md5Hex = (data) => nodeCrypto.createHash('md5').update(data, 'utf-8').digest('hex');

module.exports = {
  randomBytes: (length) => nodeCrypto.randomBytes(length),
  md5: async (data) => md5Hex(data),
  postgresMd5PasswordHash: async (user, password, salt) => `md5${md5Hex(Buffer.concat([Buffer.from(md5Hex(password + user)), salt]))}`,
  deriveKey: async (password, salt, iterations) => nodeCrypto.pbkdf2Sync(password, salt, iterations, 32, 'sha256'),
  sha256: async (data) => nodeCrypto.createHash('sha256').update(Buffer.from(data)).digest(),
  // WebCrypto names (SHA-256) to OpenSSL's (sha256), for channel binding.
  hashByName: async (name, data) => nodeCrypto.createHash(name.replace('-', '').toLowerCase()).update(Buffer.from(data)).digest(),
  hmacSha256: async (key, message) => nodeCrypto.createHmac('sha256', Buffer.from(key)).update(message).digest(),
};
