// Shell text shared by both hosts and the executor. Every value that reaches a shell goes
// through shellQuote; file contents and secrets never do: they travel on stdin.

/** Quotes one word for POSIX sh: 'it'\''s' style, safe for any byte except NUL. */
export function shellQuote(word: string): string {
  if (/^[A-Za-z0-9_@%+=:,./-]+$/.test(word)) return word;
  return `'${word.replaceAll("'", `'\\''`)}'`;
}

/** `sh -c '<script>' <name> <args...>`: arguments arrive as $1.. instead of being pasted into the script. */
export function shScript(script: string, args: string[] = [], name = 'relay'): string {
  return ['sh', '-c', script, name, ...args].map(shellQuote).join(' ');
}

/** Runs `command` as root from a non-root login; -n makes a password prompt fail instead of hang. */
export function sudoCommand(command: string): string {
  return `sudo -n ${shScript(command, [], 'relay-sudo')}`;
}

export function withCwd(command: string, cwd: string | undefined): string {
  return cwd === undefined ? command : `cd ${shellQuote(cwd)} && ${command}`;
}

// Writes stdin to a temp file beside the target, then owner, mode and one rename: readers never see
// a half-written file, and the content never appears in a command line. $1 path, $2 mode, $3 owner.
const WRITE_FILE_SCRIPT = `set -e
dir=$(dirname -- "$1")
mkdir -p -- "$dir"
tmp=$(mktemp "$dir/.relay-write.XXXXXX")
trap 'rm -f -- "$tmp"' EXIT
cat > "$tmp"
chown -- "$3" "$tmp"
chmod -- "$2" "$tmp"
mv -f -- "$tmp" "$1"
trap - EXIT`;

export function writeFileCommand(path: string, mode: string, owner: string): string {
  return shScript(WRITE_FILE_SCRIPT, [path, checkMode(mode), checkOwner(owner)], 'relay-write');
}

// Moves an uploaded temp file ($1) next to the target first, so the final rename stays on one
// filesystem and is atomic. $2 path, $3 mode, $4 owner.
const PLACE_FILE_SCRIPT = `set -e
dir=$(dirname -- "$2")
mkdir -p -- "$dir"
tmp=$(mktemp "$dir/.relay-upload.XXXXXX")
trap 'rm -f -- "$tmp" "$1"' EXIT
mv -f -- "$1" "$tmp"
chown -- "$4" "$tmp"
chmod -- "$3" "$tmp"
mv -f -- "$tmp" "$2"
trap - EXIT`;

export function placeFileCommand(uploadedPath: string, path: string, mode: string, owner: string): string {
  return shScript(PLACE_FILE_SCRIPT, [uploadedPath, path, checkMode(mode), checkOwner(owner)], 'relay-place');
}

// Runs $1 in its own process group and kills that whole group when our stdin reaches EOF: closing
// the SSH channel then ends `docker logs -f` and its children, which a plain channel close would
// leave running (no pty, so no SIGHUP). Background jobs get /dev/null as stdin, hence fd 3.
// `kill -TERM -pid` rather than `kill -- -pid`: dash reads `--` as a pid.
const KILL_ON_EOF_SCRIPT = `exec 3<&0
setsid sh -c "$1" </dev/null 3<&- &
p=$!
{ cat <&3 >/dev/null; kill -TERM -"$p" || kill -TERM "$p"; } >/dev/null 2>&1 &
w=$!
exec 3<&-
wait "$p"
s=$?
kill "$w" 2>/dev/null
exit "$s"`;

export function killOnEofCommand(command: string): string {
  return shScript(KILL_ON_EOF_SCRIPT, [command], 'relay-stream');
}

/** Normalises '600', '0600', '4755' to the four-digit form chmod and the executor compare. */
export function checkMode(mode: string): string {
  if (!/^[0-7]{3,4}$/.test(mode)) throw new TypeError(`file mode must be octal like 0644; got "${mode}"`);
  return mode.padStart(4, '0');
}

function checkOwner(owner: string): string {
  if (!/^[A-Za-z0-9_][A-Za-z0-9_.-]*(:[A-Za-z0-9_][A-Za-z0-9_.-]*)?$/.test(owner)) {
    throw new TypeError(`file owner must look like user:group; got "${owner}"`);
  }
  return owner;
}
