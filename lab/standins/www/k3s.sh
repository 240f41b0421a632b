#!/bin/sh
# The lab's k3s "binary": hands over to the lab's k3s stand-in (kubectl/crictl/ctr are symlinks to it).
case "$(basename "$0")" in
  kubectl) exec @@STANDINS@@/kubectl "$@" ;;
  crictl|ctr) echo "$(basename "$0"): the lab does not model container runtimes" >&2; exit 1 ;;
esac
exec @@STANDINS@@/k3s "$@"
