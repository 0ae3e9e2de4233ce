// Web MIDI capture of a duet: note-ons and note-offs of the chosen inputs, timed by the MIDI events' own
// time stamps (the performance.now() clock), kept in the page until the form posts them as JSON.
// Each note is {t: onset s, d: duration s, p: pitch, v: velocity, who: "therapist" | "client"}.
(function () {
  "use strict";
  var status = document.getElementById("midi-status");
  var tbody = document.querySelector("#midi-inputs tbody");
  var startButton = document.getElementById("capture-start");
  var stopButton = document.getElementById("capture-stop");
  var analyse = document.getElementById("capture-analyse");
  var count = document.getElementById("capture-count");
  var field = document.getElementById("f-events");
  var panel = document.getElementById("capture");
  var MAX_NOTES = 100000;
  var roles = {};      // input id -> "therapist" | "client" | "channel" | "ignore"
  var notes = [];
  var sounding = {};   // input id + channel + pitch -> index in notes
  var t0 = null;

  function who(inputId, channel) {
    var role = roles[inputId] || "ignore";
    if (role === "channel") { return channel === 0 ? "therapist" : "client"; }
    return role === "ignore" ? null : role;
  }

  function onMessage(inputId, event) {
    if (t0 === null || notes.length >= MAX_NOTES) { return; }
    var data = event.data, kind = data[0] & 0xf0, channel = data[0] & 0x0f;
    if (kind !== 0x90 && kind !== 0x80) { return; }
    var player = who(inputId, channel);
    if (!player) { return; }
    var t = Math.max(0, (event.timeStamp - t0) / 1000);
    var key = inputId + "/" + channel + "/" + data[1];
    if (key in sounding) {  // a note-off, or a new note-on of a sounding key, ends the note
      var n = notes[sounding[key]];
      n.d = Math.max(0, t - n.t);
      delete sounding[key];
    }
    if (kind === 0x90 && data[2] > 0) {
      sounding[key] = notes.length;
      notes.push({t: t, d: 0.1, p: data[1], v: data[2], who: player, c: channel});  // c 9: a drum kit
      count.textContent = notes.length + " notes";
    }
  }

  function addInput(input, index) {
    var row = document.createElement("tr");
    var name = document.createElement("td");
    name.textContent = input.name || ("MIDI input " + (index + 1));
    var cell = document.createElement("td");
    var select = document.createElement("select");
    select.setAttribute("aria-label", "Who plays " + name.textContent);
    [["therapist", "therapist"], ["client", "client"], ["channel", "by channel (1 = therapist)"], ["ignore", "nobody"]]
      .forEach(function (o) {
        var option = document.createElement("option");
        option.value = o[0];
        option.textContent = o[1];
        select.appendChild(option);
      });
    select.value = index === 0 ? "therapist" : (index === 1 ? "client" : "ignore");
    roles[input.id] = select.value;
    select.addEventListener("change", function () { roles[input.id] = select.value; });
    cell.appendChild(select);
    row.appendChild(name);
    row.appendChild(cell);
    tbody.appendChild(row);
    input.onmidimessage = function (event) { onMessage(input.id, event); };
  }

  startButton.addEventListener("click", function () {
    notes = [];
    sounding = {};
    t0 = performance.now();
    field.value = "";
    analyse.disabled = true;
    startButton.disabled = true;
    stopButton.disabled = false;
    panel.dataset.state = "recording";
    count.textContent = "0 notes";
  });

  stopButton.addEventListener("click", function () {
    var end = (performance.now() - t0) / 1000;
    Object.keys(sounding).forEach(function (key) {
      var n = notes[sounding[key]];
      n.d = Math.max(0, end - n.t);
    });
    sounding = {};
    t0 = null;
    field.value = JSON.stringify(notes);
    stopButton.disabled = true;
    startButton.disabled = false;
    analyse.disabled = notes.length === 0;
    panel.dataset.state = "stopped";
    count.textContent = notes.length + " notes recorded";
  });

  if (!navigator.requestMIDIAccess) {
    status.textContent = "This browser has no Web MIDI: use Chrome or Edge, or upload a MIDI file instead.";
    return;
  }
  navigator.requestMIDIAccess().then(function (access) {
    var inputs = [];
    access.inputs.forEach(function (input) { inputs.push(input); });
    inputs.forEach(addInput);
    status.textContent = inputs.length ? inputs.length + " MIDI instrument(s) found." :
      "No MIDI instrument found: connect one and reload the page.";
    startButton.disabled = inputs.length === 0;
    panel.dataset.inputs = String(inputs.length);
  }, function (error) {
    status.textContent = "MIDI access was refused (" + error.name + "): allow it in the browser to play together.";
  });
}());
