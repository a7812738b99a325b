package testkit

import (
	"database/sql"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"
)

func TestPostgresServerRestarts(t *testing.T) {
	p := StartPostgres(t)
	db, err := sql.Open("pgx", p.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(`CREATE TABLE kept (n int)`); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`INSERT INTO kept VALUES (1)`); err != nil {
		t.Fatal(err)
	}
	p.Stop()
	if err := db.Ping(); err == nil {
		t.Fatal("a stopped server answered")
	}
	p.Start()
	var n int
	deadline := time.Now().Add(10 * time.Second)
	for {
		err = db.QueryRow(`SELECT n FROM kept`).Scan(&n)
		if err == nil || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond) // polling a condition
	}
	if err != nil || n != 1 {
		t.Fatalf("after a restart: %d, %v (the committed row must stay)", n, err)
	}
}
