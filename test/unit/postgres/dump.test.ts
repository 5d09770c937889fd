import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { BerthError } from '../../../src/errors.ts'
import { ownershipFreeDump } from '../../../roles/postgres/dump.ts'

const FILE = '/backups/registry.sql'

// A plain-format dump as pg_dump 15 writes one (pg_dump -U postgres registry), shortened.
const COPY_ROWS = [
  '1\tALTER TABLE x OWNER TO y;\t2026-12-02 07:00:14+00',
  '2\tGRANT ALL ON t TO everyone;\t\\N',
  '3\tliné with tabs\\tand \\\\ backslashes\t2026-12-02 07:00:15+00',
]
const PLAIN = `--
-- PostgreSQL database dump
--

-- Dumped from database version 15.20 (Debian 15.20-0+deb12u1)
-- Dumped by pg_dump version 15.20 (Debian 15.20-0+deb12u1)

SET statement_timeout = 0;
SET lock_timeout = 0;
SET idle_in_transaction_session_timeout = 0;
SET client_encoding = 'UTF8';
SET standard_conforming_strings = on;
SELECT pg_catalog.set_config('search_path', '', false);
SET check_function_bodies = false;
SET xmloption = content;
SET client_min_messages = warning;
SET row_security = off;

SET default_tablespace = '';

SET default_table_access_method = heap;

--
-- Name: t; Type: TABLE; Schema: public; Owner: postgres
--

CREATE TABLE public.t (
    id integer NOT NULL,
    note text,
    at timestamp with time zone
);


ALTER TABLE public.t OWNER TO postgres;

--
-- Name: t_id_seq; Type: SEQUENCE; Schema: public; Owner: postgres
--

CREATE SEQUENCE public.t_id_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;


ALTER TABLE public.t_id_seq OWNER TO postgres;

ALTER SEQUENCE public.t_id_seq OWNED BY public.t.id;

ALTER TABLE ONLY public.t ALTER COLUMN id SET DEFAULT nextval('public.t_id_seq'::regclass);

SET SESSION AUTHORIZATION 'postgres';

--
-- Data for Name: t; Type: TABLE DATA; Schema: public; Owner: postgres
--

COPY public.t (id, note, at) FROM stdin;
${COPY_ROWS.join('\n')}
\\.


SELECT pg_catalog.setval('public.t_id_seq', 3, true);

ALTER TABLE ONLY public.t
    ADD CONSTRAINT t_pkey PRIMARY KEY (id);

--
-- Name: TABLE t; Type: ACL; Schema: public; Owner: postgres
--

REVOKE ALL ON TABLE public.t FROM PUBLIC;
GRANT SELECT ON TABLE public.t TO reader;
ALTER FUNCTION public.touch() OWNER TO postgres;

--
-- PostgreSQL database dump complete
--

`

const plain = suite('ownershipFreeDump: plain SQL')
const result = () => ownershipFreeDump(Buffer.from(PLAIN, 'utf8'), 'harbor', FILE)
const outLines = () => result().content.toString('utf8').split('\n')

plain('plain format; runs as the owner from the first line', () => {
  const r = result()
  assert.is(r.format, 'plain')
  assert.is(outLines()[0], 'SET ROLE "harbor";')
})

plain('owner, ACL and session lines are gone outside COPY', () => {
  const out = outLines()
  for (const gone of [
    'ALTER TABLE public.t OWNER TO postgres;',
    'ALTER TABLE public.t_id_seq OWNER TO postgres;',
    'ALTER FUNCTION public.touch() OWNER TO postgres;',
    'REVOKE ALL ON TABLE public.t FROM PUBLIC;',
    'GRANT SELECT ON TABLE public.t TO reader;',
    "SET SESSION AUTHORIZATION 'postgres';",
  ])
    assert.not.ok(out.includes(gone), gone)
})

plain('everything else is kept, in order (OWNED BY is not OWNER TO)', () => {
  const expected = PLAIN.split('\n').filter(
    (l) => !/^ALTER (TABLE|FUNCTION) public\.\S+ OWNER TO postgres;$/.test(l) && !/^(GRANT|REVOKE) /.test(l) && !l.startsWith('SET SESSION AUTHORIZATION'),
  )
  assert.equal(outLines(), ['SET ROLE "harbor";', ...expected])
  assert.ok(outLines().includes('ALTER SEQUENCE public.t_id_seq OWNED BY public.t.id;'))
  assert.ok(outLines().includes("ALTER TABLE ONLY public.t ALTER COLUMN id SET DEFAULT nextval('public.t_id_seq'::regclass);"))
})

plain('COPY data is kept byte for byte, owner- and GRANT-looking rows included', () => {
  const block = Buffer.from(`COPY public.t (id, note, at) FROM stdin;\n${COPY_ROWS.join('\n')}\n\\.\n`, 'utf8')
  assert.ok(Buffer.from(PLAIN, 'utf8').includes(block), 'the fixture holds the block')
  assert.ok(result().content.includes(block))
})

plain('after the COPY block ends, filtering resumes', () => {
  const dump = 'COPY public.a (x) FROM stdin;\nGRANT x;\n\\.\nGRANT SELECT ON TABLE public.a TO reader;\n'
  assert.is(ownershipFreeDump(Buffer.from(dump), 'harbor', FILE).content.toString(), 'SET ROLE "harbor";\nCOPY public.a (x) FROM stdin;\nGRANT x;\n\\.\n')
})

plain('the owner is quoted as an identifier', () => {
  assert.is(ownershipFreeDump(Buffer.from('SELECT 1;\n'), 'we"ird', FILE).content.toString(), 'SET ROLE "we""ird";\nSELECT 1;\n')
})

plain('CREATE DATABASE or \\connect: refused with file:line', () => {
  const cases: [string, number][] = [
    ['SET x = 1;\n\nCREATE DATABASE registry WITH TEMPLATE = template0 ENCODING = \'UTF8\';\n', 3],
    ['SET x = 1;\n\\connect registry\n', 2],
    ['\\c registry\n', 1],
    ["SELECT 1;\n\\connect -reuse-previous=on \"dbname='registry'\"\n", 2],
  ]
  for (const [dump, line] of cases) {
    try {
      ownershipFreeDump(Buffer.from(dump), 'harbor', FILE)
      assert.unreachable(`no error for ${JSON.stringify(dump)}`)
    } catch (e) {
      assert.ok(e instanceof BerthError, String(e))
      assert.ok(e.message.startsWith(`${FILE}:${line}: the dump creates or switches databases`), e.message)
      assert.ok(e.hint?.includes('without -C'))
    }
  }
})

plain('CREATE DATABASE inside COPY data is data, not a statement', () => {
  const dump = 'COPY public.a (x) FROM stdin;\nCREATE DATABASE nope;\n\\.\n'
  assert.is(ownershipFreeDump(Buffer.from(dump), 'harbor', FILE).content.toString(), `SET ROLE "harbor";\n${dump}`)
})

// pg_dump writes default privileges as `ALTER DEFAULT PRIVILEGES FOR ROLE postgres ...`
// (TOC entry DEFAULT ACL); pg_restore --no-acl skips them, and so does the plain filter:
// run as the owner they would fail and roll the whole restore back.
plain('ALTER DEFAULT PRIVILEGES (a DEFAULT ACL entry) is dropped like the other ACL lines', () => {
  const dump = 'SET x = 1;\nALTER DEFAULT PRIVILEGES FOR ROLE postgres IN SCHEMA public GRANT SELECT ON TABLES TO reader;\nSELECT 1;\n'
  assert.is(ownershipFreeDump(Buffer.from(dump), 'harbor', FILE).content.toString(), 'SET ROLE "harbor";\nSET x = 1;\nSELECT 1;\n')
})

// Only lines that start a statement are candidates: a GRANT inside a dollar-quoted
// function body (or a multi-line string of an --inserts dump) is kept.
plain('lines inside a dollar-quoted function body are kept', () => {
  const body = ['CREATE FUNCTION public.setup() RETURNS void', '    LANGUAGE plpgsql', '    AS $$', 'BEGIN', 'GRANT SELECT ON public.t TO reader;', 'END', '$$;', '']
  assert.is(ownershipFreeDump(Buffer.from(body.join('\n')), 'harbor', FILE).content.toString(), ['SET ROLE "harbor";', ...body].join('\n'))
})

// pg_dump writes in the database's encoding: a LATIN1 dump's bytes pass through unchanged.
plain('COPY data in a LATIN1 dump keeps its bytes', () => {
  const dump = Buffer.concat([
    Buffer.from("SET client_encoding = 'LATIN1';\nCOPY public.t (id, note) FROM stdin;\n1\tcaf", 'latin1'),
    Buffer.from([0xe9]),
    Buffer.from('\n\\.\n', 'latin1'),
  ])
  const out = ownershipFreeDump(dump, 'harbor', FILE).content
  assert.ok(out.equals(Buffer.concat([Buffer.from('SET ROLE "harbor";\n'), dump])), JSON.stringify(out.toString('latin1')))
})

plain.run()

const custom = suite('ownershipFreeDump: custom format')

custom('a PGDMP header: custom format, content unchanged (pg_restore drops owners itself)', () => {
  const dump = Buffer.concat([Buffer.from('PGDMP'), Buffer.from([1, 14, 0, 4, 8, 1, 0, 0xff, 0x00, 0x80]), Buffer.from('ALTER TABLE public.t OWNER TO postgres;\n')])
  const r = ownershipFreeDump(dump, 'harbor', FILE)
  assert.is(r.format, 'custom')
  assert.ok(r.content.equals(dump))
})

custom('a text file that merely starts with PGDM is plain', () => {
  assert.is(ownershipFreeDump(Buffer.from('PGDM\n'), 'harbor', FILE).format, 'plain')
})

custom.run()

const lexed = suite('ownershipFreeDump: statements, strings and comments')

lexed('a GRANT line inside a multi-line string literal (--inserts) is data, kept', () => {
  const dump = "INSERT INTO public.t VALUES (1, 'first line\nGRANT ALL ON public.t TO everyone;\nlast line');\nGRANT SELECT ON public.t TO reader;\n"
  assert.is(
    ownershipFreeDump(Buffer.from(dump), 'harbor', FILE).content.toString(),
    "SET ROLE \"harbor\";\nINSERT INTO public.t VALUES (1, 'first line\nGRANT ALL ON public.t TO everyone;\nlast line');\n",
  )
})

lexed('a statement spanning lines: its second line is not mistaken for a new statement', () => {
  const dump = 'CREATE TABLE public.t (\n    id integer\n);\nALTER TABLE public.t OWNER TO postgres;\nSELECT 1;\n'
  assert.is(ownershipFreeDump(Buffer.from(dump), 'harbor', FILE).content.toString(), 'SET ROLE "harbor";\nCREATE TABLE public.t (\n    id integer\n);\nSELECT 1;\n')
})

lexed('tagged dollar quotes and block comments end where they should', () => {
  const dump = "CREATE FUNCTION f() RETURNS text AS $body$ select ';' $body$ LANGUAGE sql;\n/* a comment;\nGRANT x TO y; */\nREVOKE ALL ON SCHEMA public FROM PUBLIC;\nSELECT 2;\n"
  const out = ownershipFreeDump(Buffer.from(dump), 'harbor', FILE).content.toString()
  assert.ok(out.includes('GRANT x TO y; */'), 'the comment is kept whole')
  assert.not.ok(out.includes('REVOKE ALL'), 'the statement after it is dropped')
  assert.ok(out.endsWith('SELECT 2;\n'))
})

lexed.run()
