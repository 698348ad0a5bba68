#!/bin/bash
# Every C file of the project must be as clang-format (.clang-format, the
# kernel's style) leaves it. Prints the files that are not; exit 1 if any.
set -euo pipefail
cd "$(dirname "$0")/.."

bad=0
while IFS= read -r f; do
	if ! clang-format --dry-run -Werror "$f" >/dev/null 2>&1; then
		echo "not clang-format clean: $f"
		bad=1
	fi
done < <(git ls-files '*.c' '*.h' 2>/dev/null || find plugin kernel tests -name '*.[ch]')
[ $bad -eq 0 ] && echo "style: every C file is clang-format clean"
exit $bad
