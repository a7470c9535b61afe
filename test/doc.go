// Package test holds Reelay's black-box suites: they start the whole app
// with fx on a temporary data dir and free ports and drive it over HTTP and
// Kafka only. By default each test gets its own embedded broker; with
// REELAY_TEST_KAFKA_BROKERS set, the same tests run, one at a time, against
// that Apache Kafka cluster (and REELAY_TEST_DATABASE_URL selects PostgreSQL).
package test
