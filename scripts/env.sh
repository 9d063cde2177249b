# Source this for running kspill under Open MPI on a workstation or in CI:
# root needs explicit permission, more ranks than cores need oversubscription,
# and MPI ranks must not be pinned to one core each or their OpenMP threads
# would share it.
export OMPI_ALLOW_RUN_AS_ROOT=1
export OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export OMPI_MCA_rmaps_base_oversubscribe=1
export OMPI_MCA_hwloc_base_binding_policy=none
