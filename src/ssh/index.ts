/** SSH to the nodes: the one option builder, the session that runs commands, failure classification. */
export { hostKeyOptions, sshDestination, sshOptions, type SshOptionSettings, type SshOptionTarget } from "./options";
export { SshSession, type ExecLimits, type SshConnection, type SshNode, type SshSettings } from "./session";
export { describeExecFailure, execCommand, type ExecResult } from "./exec";
export { classifySshText, type SshFailure, type SshFailureKind } from "./failure";
