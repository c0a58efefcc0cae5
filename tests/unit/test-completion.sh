#!/bin/bash
# SPDX-FileCopyrightText: 2026 The ASIOS Authors
# SPDX-License-Identifier: MIT
#
# bash completion of asiosctl: verbs, sub-commands and options come from the program's own --help.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
. "$top/tests/lib.sh"
PATH=$top/${ASIOS_BUILD:-build}:$PATH
# shellcheck source=packages/asiosctl/asiosctl.bash-completion
. "$top/packages/asiosctl/asiosctl.bash-completion"
complete_() { COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); _asiosctl; printf '%s\n' "${COMPREPLY[@]}" | sort | tr '\n' ' '; }
check_eq "verbs" "irq isolate " "$(complete_ asiosctl i)"
check "every verb of --help is offered" sh -c "for v in topology snapshot irq numa isolate sched; do echo '$(complete_ asiosctl "")' | grep -qw \$v || exit 1; done"
check_eq "irq sub-commands" "apply " "$(complete_ asiosctl irq ap)"
check_eq "irq options" "--config --config-dir " "$(complete_ asiosctl irq plan --con)"
check_eq "isolate sub-commands" "revert " "$(complete_ asiosctl isolate rev)"
check_eq "sched sub-commands" "knobs " "$(complete_ asiosctl sched k)"
check_eq "topology options" "--json " "$(complete_ asiosctl topology --j)"
done_testing
