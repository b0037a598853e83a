import Link from 'next/link';

/** Unknown dashboard URL. */
export default function NotFound() {
  return (
    <div className="state state-empty">
      <h1>Page not found</h1>
      <p>
        <Link href="/">Back to the overview</Link>
      </p>
    </div>
  );
}
