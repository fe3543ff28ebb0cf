// aedes on 127.0.0.1:<port> for tasctl's tests: prints "aedes listening on <port>" when ready
// and stops when its stdin closes (the test that started it has dropped it).
'use strict'
const { Aedes } = require('aedes')
const net = require('net')

async function main () {
  const port = Number(process.argv[2] || 0)
  // A broker whose ACL refuses clearing retained messages under this prefix: aedes closes the
  // connection of a client whose publish is refused, as some brokers do.
  const denyClear = process.env.AEDES_DENY_CLEAR
  const options = denyClear
    ? {
        authorizePublish: (client, packet, callback) => {
          const clearing = packet.retain && packet.payload.length === 0
          if (clearing && packet.topic.startsWith(denyClear)) {
            return callback(new Error('not authorised'))
          }
          callback(null)
        }
      }
    : {}
  const broker = await Aedes.createBroker(options)
  const server = net.createServer(broker.handle)
  server.listen(port, '127.0.0.1', () => {
    console.log(`aedes listening on ${server.address().port}`)
  })
  server.on('error', (e) => {
    console.error(`aedes: ${e.message}`)
    process.exit(1)
  })
  process.stdin.on('end', () => process.exit(0))
  process.stdin.resume()
}

main()
