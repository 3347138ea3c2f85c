set -euo pipefail
: # the weights are kept (data); remove them by hand if you want the space back
