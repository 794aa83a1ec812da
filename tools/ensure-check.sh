#!/bin/sh
# Make sure the `check` unit-test library is installed.  On Debian and Ubuntu
# install it (as root, or through passwordless sudo), saying what runs;
# anywhere else stop with the command to type.
have_check() {
    printf '#include <check.h>\nint main(void){return 0;}\n' |
        ${CC:-cc} -x c - -o /dev/null $(pkg-config --cflags --libs check 2>/dev/null || echo -lcheck) >/dev/null 2>&1
}
have_check && exit 0

if [ -r /etc/debian_version ] && command -v apt-get >/dev/null 2>&1; then
    if [ "$(id -u)" = 0 ]; then sudo=""
    elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then sudo="sudo -n"
    else
        echo "The tests need the 'check' library.  Install it with:"
        echo "    sudo apt-get install -y check pkg-config"
        exit 1
    fi
    echo "The tests need the 'check' library; installing it:"
    echo "    $sudo apt-get install -y check pkg-config"
    if ! DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q check pkg-config; then
        echo "    $sudo apt-get update   (the package lists were missing or old)"
        DEBIAN_FRONTEND=noninteractive $sudo apt-get update -q &&
            DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q check pkg-config
    fi
    have_check && exit 0
    echo "Installing check failed; see the messages above."
    exit 1
fi

echo "The tests need the 'check' library (https://libcheck.github.io/check/)."
if command -v brew >/dev/null 2>&1; then echo "Install it with:  brew install check pkg-config"
elif command -v dnf >/dev/null 2>&1; then echo "Install it with:  sudo dnf install check-devel pkgconf"
elif command -v pacman >/dev/null 2>&1; then echo "Install it with:  sudo pacman -S check pkgconf"
else echo "Install it with your package manager (Debian: sudo apt-get install check pkg-config)."
fi
exit 1
