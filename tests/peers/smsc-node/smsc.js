#!/usr/bin/env node
// An SMPP 3.4 SMS centre (SMSC) for conso's integration tests, built on the npm
// package `smpp` (0.5.1): every PDU is encoded and decoded by that library, never by
// hand, except the bytes of the explicit `send_raw` command.
//
//   node smsc.js PORT [--system-id ID] [--password PW] [--host 127.0.0.1] [--smsc-id ID]
//
// PORT 0 picks a free port. The first stdout line is {"event":"listening","port":N}.
// Control: one JSON command per stdin line ({"id":..., "cmd":..., ...}), each answered by
// one stdout line {"id":..., "ok":true, ...} (or "ok":false with "error"); other stdout
// lines are events ({"event":...}). Nothing but JSON lines goes to stdout; diagnostics go
// to stderr. The process exits when stdin closes.
//
// The library decodes short_message and message_payload into text through its `message`
// filter (data_coding 0 is read as GSM 03.38, octets are lost or replaced, the UDH is
// split off). To record the exact octets an ESME sent, the decode half of that filter is
// switched off for short_message and message_payload (the encode half is kept); the
// text the library would have read is recorded beside the octets as `text`.
'use strict';

const readline = require('readline');
const smpp = require('smpp');

// --------------------------------------------------------------------------- options

function parseArgs(argv) {
	const options = {port: 0, host: '127.0.0.1', systemId: 'conso', password: 'secret',
		smscId: 'node-smsc'};
	const positional = [];
	for (let i = 0; i < argv.length; i++) {
		const arg = argv[i];
		const take = () => {
			if (i + 1 >= argv.length) {
				throw new Error(arg + ' needs a value');
			}
			return argv[++i];
		};
		if (arg === '--system-id') {
			options.systemId = take();
		} else if (arg === '--password') {
			options.password = take();
		} else if (arg === '--host') {
			options.host = take();
		} else if (arg === '--smsc-id') {
			options.smscId = take();
		} else if (arg === '--port') {
			positional.push(take());
		} else if (arg.startsWith('--')) {
			throw new Error('unknown option ' + arg);
		} else {
			positional.push(arg);
		}
	}
	if (positional.length > 1) {
		throw new Error('one port only');
	}
	if (positional.length === 1) {
		const port = Number(positional[0]);
		if (!Number.isInteger(port) || port < 0 || port > 65535) {
			throw new Error('bad port ' + positional[0]);
		}
		options.port = port;
	}
	return options;
}

let OPTIONS;
try {
	OPTIONS = parseArgs(process.argv.slice(2));
} catch (err) {
	process.stderr.write('smsc.js: ' + err.message + '\n');
	process.exit(2);
}

// --------------------------------------------------------------------------- library set-up

// Keep the library's encoder (strings -> octets by data_coding, UDH prepended, UDHI set)
// but not its decoder: short_message and message_payload stay the Buffers received.
const libraryMessageFilter = smpp.filters.message;
const rawMessageFilter = {
	encode: libraryMessageFilter.encode,
	decode: function(value) {
		return value;
	},
};
for (const name of Object.keys(smpp.commands)) {
	const params = smpp.commands[name].params;
	if (params && params.short_message) {
		params.short_message.filter = rawMessageFilter;
	}
}
smpp.tlvs.message_payload.filter = rawMessageFilter;

const E = smpp.errors;
const MESSAGE_STATES = {ENROUTE: 1, DELIVRD: 2, EXPIRED: 3, DELETED: 4, UNDELIV: 5,
	ACCEPTD: 6, UNKNOWN: 7, REJECTD: 8};
const RECEIPT_FORMS = new Set(['tlv', 'text', 'both']);
const BIND_MODES = {bind_transceiver: 'trx', bind_transmitter: 'tx', bind_receiver: 'rx'};
const HEAD = new Set(['command', 'command_length', 'command_id', 'command_status',
	'sequence_number']);

// --------------------------------------------------------------------------- state

const state = {
	submits: [],
	binds: [],
	delivers: [],          // every deliver_sm sent (texts and receipts)
	deliverResps: [],
	received: [],
	rawReplies: [],
	frozen: false,
	delayMs: 0,
	override: {count: 0, status: 0},     // throttle / fail: the next `count` submits
	autoReceipt: null,                   // {stat, delayMs, form}
	messages: new Map(),                 // message_id -> submit record
	messageCounter: 0,
	refCounter: 0,
	sessionCounter: 0,
};
const sessions = new Map();              // session number -> context
let listenPort = OPTIONS.port;

function now() {
	return Date.now() / 1000;
}

function emit(object) {
	process.stdout.write(JSON.stringify(object) + '\n');
}

function warn(message) {
	process.stderr.write('smsc.js: ' + message + '\n');
}

// --------------------------------------------------------------------------- decoding

function jsonValue(value) {
	if (Buffer.isBuffer(value)) {
		return value.toString('hex');
	}
	if (value instanceof Date) {
		return isNaN(value.getTime()) ? null : value.toISOString();
	}
	if (Array.isArray(value)) {
		return value.map(jsonValue);
	}
	if (value && typeof value === 'object') {
		const out = {};
		for (const key of Object.keys(value)) {
			out[key] = jsonValue(value[key]);
		}
		return out;
	}
	return value === undefined ? null : value;
}

// Every TLV the library found: known ones by name, unknown ones as "0xTTTT" (hex value).
function tlvsOf(pdu) {
	const params = smpp.commands[pdu.command].params || {};
	const tlvs = {};
	for (const key of Object.keys(pdu)) {
		if (HEAD.has(key) || key in params) {
			continue;
		}
		if (key in smpp.tlvs) {
			tlvs[key] = jsonValue(pdu[key]);
		} else if (/^\d+$/.test(key)) {
			tlvs['0x' + Number(key).toString(16).padStart(4, '0')] = jsonValue(pdu[key]);
		}
	}
	return tlvs;
}

// The text as the library reads it (its own decoder), after the UDH; null when it
// cannot (unknown data_coding). Lossy by design of the library: see the report.
function libraryText(octets, dataCoding, esmClass) {
	try {
		const decoded = libraryMessageFilter.decode.call(
			{data_coding: dataCoding, esm_class: esmClass}, octets);
		return typeof decoded.message === 'string' ? decoded.message : null;
	} catch (err) {
		return null;
	}
}

function shortMessageRecord(pdu) {
	const short = Buffer.isBuffer(pdu.short_message) ? pdu.short_message : Buffer.alloc(0);
	const payload = Buffer.isBuffer(pdu.message_payload) ? pdu.message_payload : null;
	const octets = short.length || !payload ? short : payload;
	const esm = pdu.esm_class || 0;
	const udh = (esm & 0x40) && octets.length ? octets.slice(0, octets[0] + 1) : null;
	return {
		sm_length: short.length,
		short_message: short.toString('hex'),
		udh: udh ? udh.toString('hex') : null,
		text: libraryText(octets, pdu.data_coding || 0, esm),
	};
}

function submitRecord(ctx, pdu) {
	return Object.assign({
		index: state.submits.length + 1,
		session: ctx.no,
		sequence_number: pdu.sequence_number,
		service_type: pdu.service_type,
		source_addr_ton: pdu.source_addr_ton,
		source_addr_npi: pdu.source_addr_npi,
		source_addr: pdu.source_addr,
		dest_addr_ton: pdu.dest_addr_ton,
		dest_addr_npi: pdu.dest_addr_npi,
		destination_addr: pdu.destination_addr,
		esm_class: pdu.esm_class,
		protocol_id: pdu.protocol_id,
		priority_flag: pdu.priority_flag,
		schedule_delivery_time: jsonValue(pdu.schedule_delivery_time),
		validity_period: jsonValue(pdu.validity_period),
		registered_delivery: pdu.registered_delivery,
		replace_if_present_flag: pdu.replace_if_present_flag,
		data_coding: pdu.data_coding,
		sm_default_msg_id: pdu.sm_default_msg_id,
	}, shortMessageRecord(pdu), {
		tlvs: tlvsOf(pdu),
		message_id: null,
		status: null,
		answered: false,
		dropped: false,
		received_at: now(),
		answered_at: null,
	});
}

// --------------------------------------------------------------------------- sessions

function send(ctx, pdu, after) {
	if (!ctx.open) {
		return false;
	}
	return ctx.session.send(pdu, after);
}

function receivingSession(preferred) {
	if (preferred !== undefined && preferred !== null) {
		const ctx = sessions.get(preferred);
		if (!ctx || !ctx.open) {
			throw new Error('no open session ' + preferred);
		}
		return ctx;
	}
	for (const ctx of sessions.values()) {
		if (ctx.open && (ctx.mode === 'trx' || ctx.mode === 'rx')) {
			return ctx;
		}
	}
	throw new Error('no bound session that receives (transceiver or receiver)');
}

function onSession(session) {
	const ctx = {no: ++state.sessionCounter, session: session, mode: null, systemId: null,
		open: true, rawWatch: false, remotePort: session.socket.remotePort};
	sessions.set(ctx.no, ctx);
	try {
		session.socket.setNoDelay(true);
	} catch (err) {
		// the socket may already be gone
	}
	emit({event: 'session_opened', session: ctx.no, remote_port: ctx.remotePort});
	session.on('pdu', (pdu) => {
		try {
			onPdu(ctx, pdu);
		} catch (err) {
			warn('session ' + ctx.no + ': ' + (err.stack || err));
		}
	});
	session.on('error', (err) => {
		// A socket error, or a PDU the library could not read: after that the library
		// reads nothing more on this session, so drop it.
		warn('session ' + ctx.no + ' error: ' + err.message);
		emit({event: 'session_error', session: ctx.no, error: err.message});
		session.destroy();
	});
	session.on('close', () => {
		if (ctx.open) {
			ctx.open = false;
			sessions.delete(ctx.no);
			emit({event: 'session_closed', session: ctx.no});
		}
	});
}

function onPdu(ctx, pdu) {
	const entry = {session: ctx.no, command: pdu.command, command_id: pdu.command_id,
		status: pdu.command_status, sequence: pdu.sequence_number, at: now()};
	state.received.push(entry);
	if (ctx.rawWatch) {
		state.rawReplies.push(entry);
		emit(Object.assign({event: 'raw_reply'}, entry));
	}
	if (pdu.command in BIND_MODES) {
		return onBind(ctx, pdu);
	}
	if (pdu.command === 'submit_sm') {
		return onSubmit(ctx, pdu);
	}
	if (pdu.command === 'deliver_sm_resp') {
		return onDeliverResp(ctx, pdu);
	}
	if (pdu.isResponse()) {
		return;      // generic_nack, enquire_link_resp, unbind_resp...: recorded above
	}
	if (state.frozen) {
		return;
	}
	if (pdu.command === 'enquire_link') {
		send(ctx, pdu.response());
	} else if (pdu.command === 'unbind') {
		emit({event: 'unbind', session: ctx.no});
		ctx.mode = null;
		send(ctx, pdu.response(), () => ctx.session.close());
	} else if (pdu.command === 'unknown') {
		send(ctx, pdu.response());     // the library answers generic_nack ESME_RINVCMDID
	} else {
		send(ctx, pdu.response({command_status: E.ESME_RINVCMDID}));
	}
}

function onBind(ctx, pdu) {
	const record = {index: state.binds.length + 1, session: ctx.no, command: pdu.command,
		system_id: pdu.system_id, password: pdu.password, system_type: pdu.system_type,
		interface_version: pdu.interface_version, addr_ton: pdu.addr_ton,
		addr_npi: pdu.addr_npi, address_range: pdu.address_range, status: null,
		answered: false, at: now()};
	state.binds.push(record);
	if (state.frozen) {
		emit(Object.assign({event: 'bind'}, record));
		return;
	}
	let status = E.ESME_ROK;
	if (ctx.mode) {
		status = E.ESME_RALYBND;
	} else if (pdu.system_id !== OPTIONS.systemId) {
		status = E.ESME_RINVSYSID;
	} else if (pdu.password !== OPTIONS.password) {
		status = E.ESME_RINVPASWD;
	}
	record.status = status;
	record.answered = true;
	if (status === E.ESME_ROK) {
		ctx.mode = BIND_MODES[pdu.command];
		ctx.systemId = pdu.system_id;
		const fields = {system_id: OPTIONS.smscId};
		if (pdu.interface_version >= 0x34) {
			fields.sc_interface_version = 0x34;
		}
		send(ctx, pdu.response(fields));
	} else {
		send(ctx, pdu.response({command_status: status}));
	}
	emit(Object.assign({event: 'bind'}, record));
}

function onSubmit(ctx, pdu) {
	const record = submitRecord(ctx, pdu);
	state.submits.push(record);
	if (state.frozen) {
		emit({event: 'submit', index: record.index, session: ctx.no, message_id: null,
			status: null, frozen: true});
		return;
	}
	let status = E.ESME_ROK;
	if (ctx.mode !== 'trx' && ctx.mode !== 'tx') {
		status = E.ESME_RINVBNDSTS;
	} else if (state.override.count > 0) {
		status = state.override.status;
		state.override.count -= 1;
	}
	record.status = status;
	if (status === E.ESME_ROK) {
		record.message_id = 'm' + (++state.messageCounter);
		state.messages.set(record.message_id, {record: record, ctx: ctx});
	}
	emit({event: 'submit', index: record.index, session: ctx.no,
		message_id: record.message_id, status: status});
	const answer = () => {
		if (state.frozen || !ctx.open) {
			record.dropped = true;
			return;
		}
		const fields = status === E.ESME_ROK ?
			{message_id: record.message_id} : {command_status: status};
		if (!send(ctx, pdu.response(fields))) {
			record.dropped = true;
			return;
		}
		record.answered = true;
		record.answered_at = now();
		const auto = state.autoReceipt;
		if (status === E.ESME_ROK && auto) {
			const receipt = () => {
				if (state.frozen || !ctx.open) {
					return;
				}
				try {
					sendReceipt(ctx, record.message_id, record, auto.stat, auto.form);
				} catch (err) {
					warn('auto receipt for ' + record.message_id + ': ' + err.message);
				}
			};
			if (auto.delayMs > 0) {
				setTimeout(receipt, auto.delayMs);
			} else {
				setImmediate(receipt);     // after the submit_sm_resp, in order
			}
		}
	};
	if (state.delayMs > 0) {
		setTimeout(answer, state.delayMs);
	} else {
		answer();
	}
}

function onDeliverResp(ctx, pdu) {
	const sent = state.delivers.find((d) => d.session === ctx.no &&
		d.sequence_number === pdu.sequence_number && d.resp_status === null);
	const record = {index: state.deliverResps.length + 1, session: ctx.no,
		sequence_number: pdu.sequence_number, status: pdu.command_status,
		deliver: sent ? sent.index : null, kind: sent ? sent.kind : null,
		part: sent ? sent.part : null, message_id: sent ? sent.message_id : null, at: now()};
	if (sent) {
		sent.resp_status = pdu.command_status;
	}
	state.deliverResps.push(record);
	emit(Object.assign({event: 'deliver_resp'}, record));
}

// --------------------------------------------------------------------------- deliver_sm

function sendDeliver(ctx, options, meta) {
	const pdu = new smpp.PDU('deliver_sm', options);
	pdu.toBuffer();      // encode now (throws on a value the library cannot encode)
	if (!send(ctx, pdu)) {
		throw new Error('session ' + ctx.no + ' is not writable');
	}
	const record = Object.assign({index: state.delivers.length + 1, session: ctx.no,
		sequence_number: pdu.sequence_number, esm_class: pdu.esm_class,
		data_coding: pdu.data_coding, short_message: jsonValue(pdu.short_message),
		tlvs: tlvsOf(pdu), resp_status: null, at: now()}, meta);
	state.delivers.push(record);
	return record;
}

function address(number, ton, npi) {
	// Like conso's to_address: "+E.164" international, short code network specific,
	// other digits unknown/ISDN, otherwise alphanumeric.
	let t = 5;
	let n = 0;
	let addr = String(number);
	if (/^\+[0-9]+$/.test(addr)) {
		t = 1;
		n = 1;
		addr = addr.slice(1);
	} else if (/^[0-9]{3,8}$/.test(addr)) {
		t = 3;
		n = 0;
	} else if (/^[0-9]+$/.test(addr)) {
		t = 0;
		n = 1;
	}
	return {addr: addr, ton: ton === undefined || ton === null ? t : ton,
		npi: npi === undefined || npi === null ? n : npi};
}

function receiptText(messageId, stat) {
	const delivered = stat === 'DELIVRD';
	const ok = delivered || stat === 'ACCEPTD' || stat === 'ENROUTE';
	return 'id:' + messageId + ' sub:001 dlvrd:' + (delivered ? '001' : '000') +
		' submit date:2611301200 done date:2611301201 stat:' + stat +
		' err:' + (ok ? '000' : '001') + ' text:';
}

function sendReceipt(ctx, messageId, submit, stat, form) {
	if (!(stat in MESSAGE_STATES)) {
		throw new Error('unknown stat ' + stat + ' (one of ' +
			Object.keys(MESSAGE_STATES).join(', ') + ')');
	}
	if (!RECEIPT_FORMS.has(form)) {
		throw new Error('form must be tlv, text or both');
	}
	// The receipt goes from the recipient back to the sender.
	const source = submit ? {addr: submit.destination_addr, ton: submit.dest_addr_ton,
		npi: submit.dest_addr_npi} : address('1921');
	const destination = submit ? {addr: submit.source_addr, ton: submit.source_addr_ton,
		npi: submit.source_addr_npi} : address('conso');
	const options = {
		source_addr_ton: source.ton, source_addr_npi: source.npi, source_addr: source.addr,
		dest_addr_ton: destination.ton, dest_addr_npi: destination.npi,
		destination_addr: destination.addr,
		esm_class: smpp.ESM_CLASS.MC_DELIVERY_RECEIPT,
		data_coding: 0,
		// A Buffer: the library's encoder passes it through as it is (plain ASCII).
		short_message: form === 'tlv' ? Buffer.alloc(0) :
			Buffer.from(receiptText(messageId, stat), 'ascii'),
	};
	if (form !== 'text') {
		options.receipted_message_id = messageId;
		options.message_state = MESSAGE_STATES[stat];
	}
	return sendDeliver(ctx, options, {kind: 'receipt', message_id: messageId, stat: stat,
		form: form, part: null});
}

function splitText(text, parts) {
	const chars = Array.from(text);     // by code point: no surrogate pair is split
	if (parts > 1 && chars.length < parts) {
		throw new Error('text of ' + chars.length + ' characters cannot make ' + parts +
			' parts');
	}
	const chunks = [];
	for (let i = 0; i < parts; i++) {
		chunks.push(chars.slice(Math.floor(i * chars.length / parts),
			Math.floor((i + 1) * chars.length / parts)).join(''));
	}
	return chunks;
}

function deliver(cmd) {
	const ctx = receivingSession(cmd.session);
	const parts = cmd.parts === undefined || cmd.parts === null ? 1 : cmd.parts;
	const mode = cmd.mode || null;
	const dataCoding = cmd.data_coding === undefined || cmd.data_coding === null ?
		0 : cmd.data_coding;
	if (!Number.isInteger(parts) || parts < 1 || parts > 255) {
		throw new Error('parts must be 1..255');
	}
	if (mode !== null && !['udh', 'udh16', 'sar'].includes(mode)) {
		throw new Error('mode must be null, "udh", "udh16" or "sar"');
	}
	if (parts > 1 && mode === null) {
		throw new Error('several parts need a mode (udh, udh16 or sar)');
	}
	if (typeof cmd.text !== 'string') {
		throw new Error('text must be a string');
	}
	const chunks = splitText(cmd.text, parts);
	const order = cmd.order || chunks.map((_, i) => i + 1);
	for (const number of order) {
		if (!Number.isInteger(number) || number < 1 || number > parts) {
			throw new Error('order holds part numbers 1..' + parts);
		}
	}
	const ref = cmd.ref === undefined || cmd.ref === null ? ++state.refCounter : cmd.ref;
	const source = address(cmd.source, cmd.source_ton, cmd.source_npi);
	const destination = address(cmd.destination, cmd.dest_ton, cmd.dest_npi);
	const sent = [];
	for (const number of order) {
		const chunk = chunks[number - 1];
		let udh = null;
		if (mode === 'udh') {
			udh = Buffer.from([0x05, 0x00, 0x03, ref & 0xff, parts, number]);
		} else if (mode === 'udh16') {
			udh = Buffer.from([0x06, 0x08, 0x04, (ref >> 8) & 0xff, ref & 0xff, parts, number]);
		}
		const options = {
			source_addr_ton: source.ton, source_addr_npi: source.npi, source_addr: source.addr,
			dest_addr_ton: destination.ton, dest_addr_npi: destination.npi,
			destination_addr: destination.addr,
			esm_class: 0,
			data_coding: dataCoding,
			// The library encodes the text by data_coding (0: its GSM 03.38 table, one
			// septet per octet; 8: UCS-2 BE), prepends the UDH and sets esm_class 0x40.
			short_message: udh ? {udh: udh, message: chunk || Buffer.alloc(0)} :
				(chunk || Buffer.alloc(0)),
		};
		if (mode === 'sar') {
			options.sar_msg_ref_num = ref & 0xffff;
			options.sar_total_segments = parts;
			options.sar_segment_seqnum = number;
		}
		const record = sendDeliver(ctx, options, {kind: 'text', part: number, parts: parts,
			mode: mode, ref: ref, text: chunk, message_id: null});
		sent.push(record);
	}
	return {session: ctx.no, ref: ref, delivers: sent.map((d) => d.index),
		sequences: sent.map((d) => d.sequence_number),
		short_messages: sent.map((d) => d.short_message)};
}

// --------------------------------------------------------------------------- server

const server = smpp.createServer(onSession);
server.on('error', (err) => {
	warn('server error: ' + err.message);
	emit({event: 'server_error', error: err.message});
});

function listen() {
	return new Promise((resolve, reject) => {
		if (server.listening) {
			resolve({port: server.address().port, already: true});
			return;
		}
		const onError = (err) => {
			server.removeListener('listening', onListening);
			reject(err);
		};
		const onListening = () => {
			server.removeListener('error', onError);
			listenPort = server.address().port;
			resolve({port: listenPort});
		};
		server.once('error', onError);
		server.once('listening', onListening);
		server.listen(listenPort, OPTIONS.host);
	});
}

function closeAll() {
	return new Promise((resolve) => {
		let count = 0;
		for (const ctx of sessions.values()) {
			count += 1;
			ctx.session.destroy();
		}
		if (!server.listening) {
			resolve({closed: count, listening: false});
			return;
		}
		server.close(() => resolve({closed: count, listening: false}));
	});
}

// --------------------------------------------------------------------------- commands

function seconds(value, name) {
	const number = value === undefined || value === null ? 0 : Number(value);
	if (!Number.isFinite(number) || number < 0) {
		throw new Error(name + ' must be a number of seconds >= 0');
	}
	return Math.round(number * 1000);
}

function statusCount(cmd) {
	const count = Number(cmd.count);
	const status = Number(cmd.status);
	if (!Number.isInteger(count) || count < 0) {
		throw new Error('count must be an integer >= 0');
	}
	if (!Number.isInteger(status) || status < 0) {
		throw new Error('status must be an integer >= 0');
	}
	state.override = {count: count, status: status};
	return {count: count, status: status};
}

function stateSnapshot() {
	return {
		submits: state.submits,
		binds: state.binds,
		deliver_resps: state.deliverResps,
		delivers: state.delivers,
		received: state.received,
		raw_replies: state.rawReplies,
		sessions: sessions.size,
		session_list: Array.from(sessions.values()).map((ctx) => ({session: ctx.no,
			mode: ctx.mode, system_id: ctx.systemId, remote_port: ctx.remotePort})),
		frozen: state.frozen,
		delay: state.delayMs / 1000,
		override: state.override,
		auto_receipt: state.autoReceipt && {stat: state.autoReceipt.stat,
			delay: state.autoReceipt.delayMs / 1000, form: state.autoReceipt.form},
		listening: server.listening,
		port: listenPort,
	};
}

const COMMANDS = {
	delay(cmd) {
		state.delayMs = seconds(cmd.seconds, 'seconds');
		return {delay: state.delayMs / 1000};
	},
	freeze() {
		state.frozen = true;
		return {frozen: true};
	},
	unfreeze() {
		state.frozen = false;
		return {frozen: false};
	},
	throttle(cmd) {
		return statusCount(Object.assign({status: E.ESME_RTHROTTLED}, cmd));
	},
	fail(cmd) {
		return statusCount(cmd);
	},
	auto_receipt(cmd) {
		if (cmd.stat === null || cmd.stat === undefined) {
			state.autoReceipt = null;
			return {auto_receipt: null};
		}
		const form = cmd.form || 'tlv';
		if (!(cmd.stat in MESSAGE_STATES)) {
			throw new Error('unknown stat ' + cmd.stat);
		}
		if (!RECEIPT_FORMS.has(form)) {
			throw new Error('form must be tlv, text or both');
		}
		state.autoReceipt = {stat: cmd.stat, delayMs: seconds(cmd.delay, 'delay'), form: form};
		return {auto_receipt: {stat: cmd.stat, delay: state.autoReceipt.delayMs / 1000,
			form: form}};
	},
	receipt(cmd) {
		if (typeof cmd.message_id !== 'string' || !cmd.message_id) {
			throw new Error('message_id must be a non-empty string');
		}
		const known = state.messages.get(cmd.message_id);
		let ctx;
		if (cmd.session !== undefined && cmd.session !== null) {
			ctx = receivingSession(cmd.session);
		} else if (known && known.ctx.open && known.ctx.mode) {
			ctx = known.ctx;
		} else {
			ctx = receivingSession();
		}
		const record = sendReceipt(ctx, cmd.message_id, known ? known.record : null,
			cmd.stat || 'DELIVRD', cmd.form || 'tlv');
		return {session: ctx.no, deliver: record.index, sequence: record.sequence_number};
	},
	deliver(cmd) {
		return deliver(cmd);
	},
	send_raw(cmd) {
		if (typeof cmd.hex !== 'string' || !/^([0-9a-fA-F]{2})*$/.test(cmd.hex)) {
			throw new Error('hex must be an even-length hex string');
		}
		const data = Buffer.from(cmd.hex, 'hex');
		const written = [];
		for (const ctx of sessions.values()) {
			if (ctx.open && ctx.mode) {
				ctx.rawWatch = true;
				ctx.session.socket.write(data);
				written.push(ctx.no);
			}
		}
		return {sessions: written, bytes: data.length};
	},
	state() {
		return stateSnapshot();
	},
	close() {
		return closeAll();
	},
	listen() {
		return listen();
	},
	ping() {
		return {};
	},
};

function answer(id, result) {
	emit(Object.assign({id: id, ok: true}, result));
}

function refuse(id, err) {
	emit({id: id, ok: false, error: err && err.message ? err.message : String(err)});
}

function onCommandLine(line) {
	if (!line.trim()) {
		return;
	}
	let cmd;
	try {
		cmd = JSON.parse(line);
	} catch (err) {
		refuse(null, new Error('not JSON: ' + err.message));
		return;
	}
	const id = cmd && cmd.id !== undefined ? cmd.id : null;
	const handler = cmd && Object.prototype.hasOwnProperty.call(COMMANDS, cmd.cmd) ?
		COMMANDS[cmd.cmd] : null;
	if (!handler) {
		refuse(id, new Error('unknown cmd ' + JSON.stringify(cmd && cmd.cmd)));
		return;
	}
	let result;
	try {
		result = handler(cmd);
	} catch (err) {
		refuse(id, err);
		return;
	}
	if (result && typeof result.then === 'function') {
		result.then((value) => answer(id, value || {}), (err) => refuse(id, err));
	} else {
		answer(id, result || {});     // at once: answers keep the order of the commands
	}
}

const input = readline.createInterface({input: process.stdin, terminal: false});
input.on('line', onCommandLine);
input.on('close', () => {
	// Whoever controls us is gone: do not linger.
	for (const ctx of sessions.values()) {
		ctx.session.destroy();
	}
	process.exit(0);
});

listen().then((result) => emit({event: 'listening', port: result.port}), (err) => {
	warn('cannot listen on ' + OPTIONS.host + ':' + OPTIONS.port + ': ' + err.message);
	process.exit(1);
});
