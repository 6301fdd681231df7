/** Printed by `version`; bump with the protocol or config format. */
export const HELPER_VERSION = "0.1.0";
