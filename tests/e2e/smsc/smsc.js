// A local SMSC for textwire's SMPP tests and benchmark, built on the npm `smpp` package's
// server mode (textwire did not write the SMPP side of this peer).
//
// Usage: node smsc.js [port]   (port 0 picks a free one)
// stdout: one JSON object per line: {"event": "listening", "port": N} first, then events
//   (bind, submit_sm, deliver_sm_resp, unbind, stats).
// stdin: one JSON command per line:
//   {"cmd": "throttle", "count": N}        the next N submit_sm get ESME_RTHROTTLED
//   {"cmd": "reject", "count": N, "status": S}  the next N submit_sm get command_status S
//                                          (a final refusal, e.g. 11 = ESME_RINVDSTADR)
//   {"cmd": "drop_after", "count": N}      after N more submit_sm, drop the connection
//                                          (the Nth gets no response: a bind lost mid-window)
//   {"cmd": "undeliverable", "numbers": [...]}  receipts for these say UNDELIV err:005
//   {"cmd": "receipts", "on": bool}        send delivery receipts (default true)
//   {"cmd": "quiet", "on": bool}           stop reporting each submit_sm (benchmark)
//   {"cmd": "mo", "source": "...", "destination": "...", "text": "...",
//    "data_coding": 0|8, "udh": "hex"|null, "sar": [ref, total, seq]|null}
//   {"cmd": "stats"}                       reply {"event": "stats", "submits": N}
//   {"cmd": "unbind"}                      the SMSC unbinds every session
"use strict";

const smpp = require("smpp");
const readline = require("readline");

const SYSTEM_ID = "textwire";
const PASSWORD = "secret12";

let throttle = 0;
let reject = 0;
let rejectStatus = 0;
let dropAfter = null;
let receipts = true;
let quiet = false;
let undeliverable = new Set();
let submits = 0;
let nextId = 1;
const sessions = new Set();

function emit(obj) {
  process.stdout.write(JSON.stringify(obj) + "\n");
}

function stamp(d) {
  const p = (n) => String(n).padStart(2, "0");
  return (
    p(d.getUTCFullYear() % 100) + p(d.getUTCMonth() + 1) + p(d.getUTCDate()) +
    p(d.getUTCHours()) + p(d.getUTCMinutes())
  );
}

function sendReceipt(session, pdu, id) {
  const failed = undeliverable.has(pdu.destination_addr);
  const stat = failed ? "UNDELIV" : "DELIVRD";
  const err = failed ? "005" : "000";
  const now = stamp(new Date());
  const text =
    `id:${id} sub:001 dlvrd:${failed ? "000" : "001"} submit date:${now} done date:${now} ` +
    `stat:${stat} err:${err} text:`;
  session.deliver_sm({
    source_addr: pdu.destination_addr,
    source_addr_ton: pdu.dest_addr_ton,
    source_addr_npi: pdu.dest_addr_npi,
    destination_addr: pdu.source_addr,
    dest_addr_ton: pdu.source_addr_ton,
    dest_addr_npi: pdu.source_addr_npi,
    esm_class: 0x04,
    data_coding: 0x01,
    short_message: Buffer.from(text, "ascii"),
    receipted_message_id: id,
    message_state: failed ? 5 : 2,
  }, (resp) => emit({ event: "deliver_sm_resp", kind: "receipt", id, status: resp.command_status }));
}

const server = smpp.createServer({ debug: false }, (session) => {
  let bound = false;
  session.on("error", () => {});
  session.on("close", () => sessions.delete(session));
  session.on("bind_transceiver", (pdu) => {
    if (pdu.system_id !== SYSTEM_ID) {
      session.send(pdu.response({ command_status: smpp.ESME_RINVSYSID }));
      return;
    }
    if (pdu.password !== PASSWORD) {
      session.send(pdu.response({ command_status: smpp.ESME_RINVPASWD }));
      return;
    }
    bound = true;
    sessions.add(session);
    session.send(pdu.response({ system_id: "testsmsc" }));
    emit({ event: "bind", system_id: pdu.system_id, system_type: pdu.system_type });
  });
  session.on("enquire_link", (pdu) => {
    session.send(pdu.response());
    emit({ event: "enquire_link" });
  });
  session.on("unbind", (pdu) => {
    emit({ event: "unbind" });
    session.send(pdu.response());
    session.close();
  });
  session.on("submit_sm", (pdu) => {
    if (!bound) {
      session.send(pdu.response({ command_status: smpp.ESME_RINVBNDSTS }));
      return;
    }
    if (dropAfter !== null) {
      dropAfter -= 1;
      if (dropAfter <= 0) {
        dropAfter = null;
        emit({ event: "dropped" });
        session.destroy();
        return;
      }
    }
    if (reject > 0) {
      reject -= 1;
      session.send(pdu.response({ command_status: rejectStatus }));
      emit({ event: "rejected", destination_addr: pdu.destination_addr, status: rejectStatus });
      return;
    }
    if (throttle > 0) {
      throttle -= 1;
      session.send(pdu.response({ command_status: smpp.ESME_RTHROTTLED }));
      emit({ event: "throttled", destination_addr: pdu.destination_addr });
      return;
    }
    submits += 1;
    const id = "M" + String(nextId++).padStart(8, "0");
    session.send(pdu.response({ message_id: id }));
    if (!quiet) {
      const sm = pdu.short_message || {};
      emit({
        event: "submit_sm",
        message_id: id,
        source_addr: pdu.source_addr,
        source_addr_ton: pdu.source_addr_ton,
        destination_addr: pdu.destination_addr,
        dest_addr_ton: pdu.dest_addr_ton,
        data_coding: pdu.data_coding,
        esm_class: pdu.esm_class,
        registered_delivery: pdu.registered_delivery,
        udh: (sm.udh || []).map((b) => b.toString("hex")),
        message: typeof sm.message === "string" ? sm.message : null,
        sar: pdu.sar_msg_ref_num === undefined ? null :
          [pdu.sar_msg_ref_num, pdu.sar_total_segments, pdu.sar_segment_seqnum],
      });
    }
    if (receipts && (pdu.registered_delivery & 1)) {
      setTimeout(() => sendReceipt(session, pdu, id), 20);
    }
  });
});

function mo(cmd) {
  for (const session of sessions) {
    const udh = cmd.udh ? Buffer.from(cmd.udh, "hex") : null;
    const options = {
      source_addr: cmd.source,
      source_addr_ton: 1,
      source_addr_npi: 1,
      destination_addr: cmd.destination,
      dest_addr_ton: 1,
      dest_addr_npi: 1,
      esm_class: udh ? 0x40 : 0,
      data_coding: cmd.data_coding || 0,
      short_message: udh ? { udh, message: cmd.text } : { message: cmd.text },
    };
    if (cmd.sar) {
      options.sar_msg_ref_num = cmd.sar[0];
      options.sar_total_segments = cmd.sar[1];
      options.sar_segment_seqnum = cmd.sar[2];
    }
    session.deliver_sm(options, (resp) =>
      emit({ event: "deliver_sm_resp", kind: "mo", status: resp.command_status }));
    return;
  }
  emit({ event: "error", error: "no bound session for mo" });
}

readline.createInterface({ input: process.stdin }).on("line", (line) => {
  if (!line.trim()) return;
  const cmd = JSON.parse(line);
  switch (cmd.cmd) {
    case "throttle": throttle = cmd.count; break;
    case "reject": reject = cmd.count; rejectStatus = cmd.status; break;
    case "drop_after": dropAfter = cmd.count; break;
    case "undeliverable": undeliverable = new Set(cmd.numbers); break;
    case "receipts": receipts = cmd.on; break;
    case "quiet": quiet = cmd.on; break;
    case "mo": mo(cmd); break;
    case "stats": emit({ event: "stats", submits }); break;
    case "unbind":
      for (const session of sessions) session.unbind();
      break;
    default: emit({ event: "error", error: "unknown command " + cmd.cmd });
  }
  emit({ event: "ok", cmd: cmd.cmd });
});

process.stdin.on("end", () => process.exit(0));
server.listen(Number(process.argv[2] || 0), "127.0.0.1", () => {
  emit({ event: "listening", port: server.address().port });
});
