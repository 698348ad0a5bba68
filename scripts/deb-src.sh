#!/bin/bash
# Add deb-src entries for Debian suites, taken from this machine's own apt
# configuration, so that `apt-get source` works through whatever mirror,
# proxy or local archive the machine already uses.
#
#   deb-src.sh [SUITE...]        (default: sid trixie)
#
# The URIs and Signed-By come from the enabled `deb` entry of the machine's
# own release (VERSION_CODENAME in /etc/os-release, e.g. bookworm), read from
# deb822 files (sources.list.d/*.sources) or one-line ones (sources.list,
# sources.list.d/*.list). The result is written to $DEB_SRC_FILE (default
# /etc/apt/sources.list.d/criu-guard-src.sources) when it changed; the
# caller runs `apt-get update`. Prints "changed" when it wrote the file.
# An existing deb-src entry (of another file) for the first suite is left
# alone and nothing is written. Used by scripts/install-deps.sh and
# kernel/check.
set -euo pipefail

APT_DIR=${APT_DIR:-/etc/apt}
DEB_SRC_FILE=${DEB_SRC_FILE:-$APT_DIR/sources.list.d/criu-guard-src.sources}

die()
{
	echo "deb-src: $*" >&2
	exit 1
}

# The files apt reads, in its order (it ignores other names, such as
# *.disabled).
apt_files()
{
	local f

	[ -f "$APT_DIR/sources.list" ] && echo "$APT_DIR/sources.list"
	for f in "$APT_DIR"/sources.list.d/*.list "$APT_DIR"/sources.list.d/*.sources; do
		[ -f "$f" ] && [ "$f" != "$DEB_SRC_FILE" ] && echo "$f"
	done
	return 0
}

# deb822 stanzas -> one record per enabled stanza:
#   TYPES<TAB>URIS<TAB>SUITES<TAB>COMPONENTS<TAB>SIGNED-BY
# (a multi-line inline Signed-By key keeps its lines, joined by \001).
parse_deb822()
{
	awk '
	function flush() {
		if (types != "" && tolower(enabled) != "no")
			printf "%s\t%s\t%s\t%s\t%s\n", types, uris, suites, comps, signed
		types = uris = suites = comps = signed = enabled = field = ""
	}
	/^#/ { next }
	/^[ \t]*$/ { flush(); next }
	/^[ \t]/ {
		if (field == "signed-by") {
			line = $0
			signed = signed "\001" line
		} else if (field != "") {
			v = $0; gsub(/^[ \t]+|[ \t]+$/, "", v)
			val[field] = val[field] " " v
			set(field, val[field])
		}
		next
	}
	{
		field = tolower(substr($0, 1, index($0, ":") - 1))
		v = substr($0, index($0, ":") + 1); gsub(/^[ \t]+|[ \t]+$/, "", v)
		val[field] = v
		set(field, v)
	}
	function set(f, v) {
		if (f == "types") types = v
		else if (f == "uris") uris = v
		else if (f == "suites") suites = v
		else if (f == "components") comps = v
		else if (f == "signed-by") signed = v
		else if (f == "enabled") enabled = v
	}
	END { flush() }' "$1"
}

# One-line entries -> the same records.
parse_one_line()
{
	awk '
	/^[ \t]*(#|$)/ { next }
	{
		type = $1; i = 2; signed = ""
		if ($2 ~ /^\[/) {
			opts = ""
			for (; i <= NF; i++) {
				opts = opts " " $i
				if ($i ~ /\]$/) { i++; break }
			}
			gsub(/[][]/, "", opts)
			n = split(opts, o, " ")
			for (j = 1; j <= n; j++)
				if (tolower(o[j]) ~ /^signed-by=/)
					signed = substr(o[j], 11)
		}
		uri = $i; suite = $(i + 1); comps = ""
		for (k = i + 2; k <= NF; k++)
			comps = comps (comps == "" ? "" : " ") $k
		printf "%s\t%s\t%s\t%s\t%s\n", type, uri, suite, comps, signed
	}' "$1"
}

records()
{
	local f

	for f in $(apt_files); do
		case $f in
		*.sources) parse_deb822 "$f" | sed "s|^|$f\t|" ;;
		*) parse_one_line "$f" | sed "s|^|$f\t|" ;;
		esac
	done
}

has_word()
{
	[[ " $1 " == *" $2 "* ]]
}

main()
{
	local suites=("$@") codename file types uris rsuites comps signed
	local src="" src_uris="" src_signed="" new

	[ ${#suites[@]} -gt 0 ] || suites=(sid trixie)
	# shellcheck disable=SC1091
	codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")
	[ -n "$codename" ] || die "/etc/os-release names no VERSION_CODENAME"

	while IFS=$'\t' read -r file types uris rsuites comps signed; do
		if has_word "$types" deb-src && has_word "$rsuites" "${suites[0]}"; then
			return 0
		fi
		if [ -z "$src" ] && has_word "$types" deb && has_word "$rsuites" "$codename" &&
			has_word "$comps" main; then
			src=$file src_uris=$uris src_signed=$signed
		fi
	done < <(records)
	[ -n "$src" ] || die "no enabled 'deb' entry for $codename (component main) in $APT_DIR/sources.list or $APT_DIR/sources.list.d/"

	new=$(
		echo "# criu-guard (scripts/deb-src.sh): source packages from the archive of $src"
		echo "Types: deb-src"
		echo "URIs: $src_uris"
		echo "Suites: ${suites[*]}"
		echo "Components: main"
		[ -z "$src_signed" ] || printf 'Signed-By: %s\n' "$src_signed" | tr '\001' '\n' | sed 's/[ \t]*$//'
	)
	[ "$(cat "$DEB_SRC_FILE" 2>/dev/null)" = "$new" ] && return 0
	echo "$new" >"$DEB_SRC_FILE"
	echo "deb-src: wrote $DEB_SRC_FILE (URIs: $src_uris, from $src)" >&2
	echo changed
}

main "$@"
