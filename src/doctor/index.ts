export { evaluate, classifySshText, type Check, type NodeResult, type Status } from "./evaluate";
export { probeScript, parseProbe } from "./probe";
export { runDoctor, renderReport, type DoctorOptions, type DoctorReport } from "./run";
export { SshSession, type SshFailure, type SshSettings } from "../ssh";
