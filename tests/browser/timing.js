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

  const NativeAC = window.AudioContext;
  window.AudioContext = class extends NativeAC { constructor(o) { mark('audio_context_new'); super(o); mark('audio_context_made'); } };

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

// The floor for a start on this machine: two RTCPeerConnections in this page, one sending a
// canvas's video and holding a data channel, the other receiving; offer, answer and candidates
// passed by hand, no network beyond loopback. Resolves to ms from creating them to the first
// decoded frame, with ICE and DTLS marks on the way.
window.measureFloor = async () => {
  const canvas = document.createElement('canvas');
  canvas.width = 640; canvas.height = 360;
  const ctx = canvas.getContext('2d');
  let frame = 0;
  const paint = setInterval(() => { ctx.fillStyle = frame++ % 2 ? '#0a0' : '#555'; ctx.fillRect(0, 0, 640, 360); }, 33);
  const track = canvas.captureStream(30).getVideoTracks()[0];
  const t0 = performance.now();
  const at = {};
  const note = (name) => { if (!(name in at)) at[name] = Math.round((performance.now() - t0) * 10) / 10; };
  const sender = new RTCPeerConnection();
  const receiver = new RTCPeerConnection();
  sender.onicecandidate = (e) => e.candidate && receiver.addIceCandidate(e.candidate);
  receiver.onicecandidate = (e) => e.candidate && sender.addIceCandidate(e.candidate);
  receiver.oniceconnectionstatechange = () => note(`ice_${receiver.iceConnectionState}`);
  receiver.onconnectionstatechange = () => note(receiver.connectionState);
  sender.createDataChannel('_reliable');
  sender.addTrack(track);
  const video = document.createElement('video');
  video.muted = true;
  const first = new Promise((resolve) => {
    receiver.ontrack = (e) => {
      note('track');
      video.srcObject = new MediaStream([e.track]);
      video.requestVideoFrameCallback(() => { note('first_frame'); resolve(); });
      video.play().catch(() => {});
    };
  });
  await sender.setLocalDescription(await sender.createOffer());
  await receiver.setRemoteDescription(sender.localDescription);
  await receiver.setLocalDescription(await receiver.createAnswer());
  await sender.setRemoteDescription(receiver.localDescription);
  await first;
  clearInterval(paint);
  sender.close(); receiver.close(); track.stop();
  return at;
};
