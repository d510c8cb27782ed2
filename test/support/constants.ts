/** The write token the in-runtime tests use (the black-box suite sets its own). */
export const TEST_MANAGEMENT_TOKEN = "test-management-token";
