#!/usr/bin/node
/*
 * /bin/sh of the stand-in image. The drop-caches sidecar the plan renders runs
 * `sh -c 'n=0; while ...; do sync; echo 3 > /proc/sys/vm/drop_caches; ...; done'` in a privileged
 * container. In the rehearsal this `sh` is a stand-in: it never runs the script and never writes
 * /proc/sys/vm/drop_caches (the machine running the tests is left alone). It logs the script it
 * was given, so a test can check the sidecar got the plan's exact command, and stays up like the
 * real loop until the container is removed.
 */

const script = process.argv[2] === "-c" ? process.argv[3] : process.argv.slice(2).join(" ");
process.stdout.write(`(sh stand-in) would run, and does not: ${script}\n`);
process.on("SIGTERM", () => process.exit(0));
setInterval(() => {}, 1 << 30);
