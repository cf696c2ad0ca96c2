// Loaded before the SDK: wraps RTCPeerConnection and WebSocket so a scenario can say where a
// session's start goes (signalling, offer/answer, ICE, DTLS, first frame). Marks are
// performance.now() times, first occurrence only; window.startMarks() returns them relative
// to window.markStart().
'use strict';

(() => {
  const marks = {};
  let origin = performance.now();
  const mark = (name) => { if (!(name in marks)) marks[name] = performance.now(); };
  window.markStart = () => { origin = performance.now(); for (const k of Object.keys(marks)) delete marks[k]; };
  window.startMarks = () => Object.fromEntries(Object.entries(marks).map(([k, v]) => [k, Math.round((v - origin) * 10) / 10]));
  window.mark = mark;

  const nativeFetch = window.fetch.bind(window);
  window.fetch = async (input, init) => {
    const path = new URL(typeof input === 'string' ? input : input.url, location.href).pathname.replace(/^\/v1\//, '');
    mark(`${path}_sent`);
    const response = await nativeFetch(input, init);
    mark(`${path}_answered`);
    return response;
  };

  const NativeWebSocket = window.WebSocket;
  window.WebSocket = class extends NativeWebSocket {
    constructor(url, protocols) {
      super(url, protocols);
      const kind = String(url).includes('/rtc') ? 'signal' : 'chat_socket';
      mark(`${kind}_dial`);
      this.addEventListener('open', () => mark(`${kind}_open`));
      if (kind === 'signal') this.addEventListener('message', () => mark('signal_first_message'));
    }
  };

  const NativePC = window.RTCPeerConnection;
  let count = 0;
  window.RTCPeerConnection = class extends NativePC {
    constructor(config) {
      super(config);
      const n = count++;
      const p = `pc${n}`;
      mark(`${p}_created`);
      this.addEventListener('icecandidate', (e) => { if (e.candidate) mark(`${p}_local_candidate`); else mark(`${p}_gathered`); });
      this.addEventListener('iceconnectionstatechange', () => mark(`${p}_ice_${this.iceConnectionState}`));
      this.addEventListener('connectionstatechange', () => mark(`${p}_${this.connectionState}`));
      this.addEventListener('track', (e) => mark(`${p}_track_${e.track.kind}`));
      this.addEventListener('datachannel', () => mark(`${p}_datachannel`));
      this.label = p;
    }
    async setRemoteDescription(d) { mark(`${this.label}_remote_${d && d.type}`); return super.setRemoteDescription(d); }
    async setLocalDescription(d) { const r = await super.setLocalDescription(d); mark(`${this.label}_local_${this.localDescription && this.localDescription.type}`); return r; }
    async addIceCandidate(c) { mark(`${this.label}_remote_candidate`); return super.addIceCandidate(c); }
  };
})();
