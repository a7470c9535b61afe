// Package handlers holds one package per consumer group. Each declares the
// store it needs and returns an events.Consumer; the router in infra/ runs it.
package handlers
